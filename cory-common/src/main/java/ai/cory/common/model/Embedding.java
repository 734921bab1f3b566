package ai.cory.common.model;

/**
 * Token (and, for GPT-2, learned position) embedding lookup: {@code x[r] = E[tok[r]] (+
 * P[pos[r]])}. The backward scatter-adds rows; rows repeat (the same token twice), so it runs
 * serially in row order, which also keeps it deterministic.
 */
final class Embedding {
  private static final int MIN_ROWS_PER_PART = 64;

  private Embedding() {}

  /**
   * @param x         (N, C) output
   * @param tokens    (N) token ids
   * @param positions (N) position ids, used only when {@code pos} is not null
   * @param tok       (V, C) token embedding
   * @param pos       (P, C) position embedding or null
   */
  static void forward(Span x, int[] tokens, int[] positions, Span tok, Span pos, int n, int c,
      Scratch scratch) {
    Parallel.forRange(n, MIN_ROWS_PER_PART, (part, from, to) -> {
      double[] row = scratch.row(part, 0, c);
      double[] prow = scratch.row(part, 1, c);
      for (int r = from; r < to; r++) {
        tok.read((long) tokens[r] * c, row, 0, c);
        if (pos != null) {
          pos.read((long) positions[r] * c, prow, 0, c);
          for (int i = 0; i < c; i++) {
            row[i] += prow[i];
          }
        }
        x.write((long) r * c, row, 0, c);
      }
    });
  }

  /** {@code dTok[tok[r]] += dx[r]}, {@code dPos[pos[r]] += dx[r]} (dPos may be null; nothing when dTok is). */
  static void backward(Span dTok, Span dPos, Span dx, int[] tokens, int[] positions, int n, int c,
      Scratch scratch) {
    if (dTok == null) {
      return; // frozen embeddings (LoRA)
    }
    double[] row = scratch.row(0, 0, c);
    for (int r = 0; r < n; r++) {
      dx.read((long) r * c, row, 0, c);
      dTok.accumulate((long) tokens[r] * c, row, 0, c);
      if (dPos != null) {
        dPos.accumulate((long) positions[r] * c, row, 0, c);
      }
    }
  }
}
