package ai.cory.common.sampling;

/**
 * The tokens each row already holds (prompt and generated so far), read by the repetition
 * penalty. To reproduce HF batched {@code generate()} exactly, include what HF's
 * {@code input_ids} hold for the row, i.e. its left padding too (TRL pads GPT-2 prompts with
 * EOS, so EOS is penalised in every padded row); to penalise only real tokens, leave it out.
 */
public interface TokenHistory {

  /** Number of tokens held by {@code row}. */
  int length(int row);

  /** Token id at {@code position} (0-based, {@code < length(row)}) of {@code row}. */
  int token(int row, int position);

  /**
   * History over caller-owned arrays (not copied): row b holds {@code tokens[b][0..lengths[b])}.
   * The caller may keep appending to the arrays and bumping {@code lengths} between steps.
   */
  static TokenHistory of(int[][] tokens, int[] lengths) {
    if (tokens.length != lengths.length) {
      throw new IllegalArgumentException(
          "token history: " + tokens.length + " token rows but " + lengths.length + " lengths");
    }
    return new TokenHistory() {
      @Override
      public int length(int row) {
        return lengths[row];
      }

      @Override
      public int token(int row, int position) {
        return tokens[row][position];
      }
    };
  }

  /** History where every row is empty (no repetition penalty can apply). */
  static TokenHistory empty() {
    return new TokenHistory() {
      @Override
      public int length(int row) {
        return 0;
      }

      @Override
      public int token(int row, int position) {
        throw new IndexOutOfBoundsException("empty token history, row " + row);
      }
    };
  }
}
