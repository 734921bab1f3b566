package ai.cory.common.sampling;

/**
 * The response post-processing of CORY.md section 4 (TRL 0.7.9 {@code _generate_batched} with
 * {@code remove_padding}, HF padding finished rows with {@code pad_token_id = eos}): each
 * response is cut right after its first EOS, the EOS kept, and padded with EOS.
 */
public final class EosTruncation {
  private EosTruncation() {}

  /**
   * Responses cut after their first EOS.
   *
   * @param tokens (B, L) rows of EOS-padded token ids, all of the batch width
   * @param lengths (B) tokens of each row that belong to the response (first EOS included)
   */
  public record Truncated(int[][] tokens, int[] lengths) {}

  /**
   * Cuts each row of {@code generated} right after its first {@code eosId} (kept) and pads it
   * with {@code eosId} to the width of the longest row. A row without EOS keeps all its tokens.
   * The input is not modified.
   *
   * @param generated (B, *) token ids produced per row; rows may differ in length
   * @param eosId     end-of-sequence id, >= 0
   */
  public static Truncated cutAfterFirstEos(int[][] generated, int eosId) {
    if (eosId < 0) {
      throw new IllegalArgumentException("eosId must be >= 0, got " + eosId);
    }
    int width = 0;
    for (int[] row : generated) {
      width = Math.max(width, row.length);
    }
    int[][] tokens = new int[generated.length][width];
    int[] lengths = new int[generated.length];
    for (int b = 0; b < generated.length; b++) {
      int length = responseLength(generated[b], generated[b].length, eosId);
      System.arraycopy(generated[b], 0, tokens[b], 0, length);
      for (int t = length; t < width; t++) {
        tokens[b][t] = eosId;
      }
      lengths[b] = length;
    }
    return new Truncated(tokens, lengths);
  }

  /** Length of {@code row[0..limit)} up to and including its first EOS ({@code limit} if none). */
  public static int responseLength(int[] row, int limit, int eosId) {
    for (int t = 0; t < limit; t++) {
      if (row[t] == eosId) {
        return t + 1;
      }
    }
    return limit;
  }
}
