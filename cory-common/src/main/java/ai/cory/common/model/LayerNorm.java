package ai.cory.common.model;

import java.util.Arrays;

/**
 * LayerNorm over the last axis with the biased variance, as HF {@code nn.LayerNorm} in GPT-2:
 * {@code y = (x - mean) / sqrt(var + eps) * w + b}. Backward follows llm.c's
 * {@code layernorm_backward}: with {@code n = (x - mean) * rstd} and {@code g = dy * w},
 * {@code dx = rstd * (g - mean(g) - n * mean(g * n))}.
 */
final class LayerNorm {
  private static final int MIN_ROWS_PER_PART = 16;

  private LayerNorm() {}

  /**
   * @param out  (N, C) normalised output
   * @param mean (N) cached row means
   * @param rstd (N) cached 1 / sqrt(var + eps)
   * @param x    (N, C) input
   * @param w    (C) gain
   * @param b    (C) bias
   */
  static void forward(Span out, Span mean, Span rstd, Span x, Span w, Span b,
      int n, int c, double eps, Scratch scratch) {
    Parallel.forRange(n, MIN_ROWS_PER_PART, (part, from, to) -> {
      double[] xr = scratch.row(part, 0, c);
      double[] wr = scratch.row(part, 1, c);
      double[] br = scratch.row(part, 2, c);
      w.read(0, wr, 0, c);
      b.read(0, br, 0, c);
      double[] m = scratch.row(part, 3, 1);
      for (int r = from; r < to; r++) {
        x.read((long) r * c, xr, 0, c);
        double rs = VecMath.layerNormRow(xr, wr, br, c, eps, m);
        out.write((long) r * c, xr, 0, c);
        mean.set(r, m[0]);
        rstd.set(r, rs);
      }
    });
  }

  /**
   * Accumulates the gradients: {@code dx (N, C) +=}, {@code dw (C) +=}, {@code db (C) +=}.
   *
   * @param dout (N, C) upstream gradient
   * @param x    (N, C) forward input; mean, rstd (N) from forward
   */
  static void backward(Span dx, Span dw, Span db, Span dout, Span x, Span mean, Span rstd,
      Span w, int n, int c, Scratch scratch) {
    int parts = Parallel.parts(n, MIN_ROWS_PER_PART);
    Parallel.forRange(n, MIN_ROWS_PER_PART, (part, from, to) -> {
      double[] xr = scratch.row(part, 0, c);
      double[] gr = scratch.row(part, 1, c);
      double[] wr = scratch.row(part, 2, c);
      double[] dwAcc = scratch.row(part, 3, c);
      double[] dbAcc = scratch.row(part, 4, c);
      Arrays.fill(dwAcc, 0, c, 0.0);
      Arrays.fill(dbAcc, 0, c, 0.0);
      w.read(0, wr, 0, c);
      for (int r = from; r < to; r++) {
        x.read((long) r * c, xr, 0, c);
        dout.read((long) r * c, gr, 0, c);
        VecMath.layerNormBackwardRow(xr, gr, wr, mean.get(r), rstd.get(r), dwAcc, dbAcc, c);
        dx.accumulate((long) r * c, gr, 0, c);
      }
    });
    // Per-part parameter gradients summed serially: deterministic for a given thread count.
    for (int p = 0; p < parts && dw != null; p++) { // dw null: a frozen norm (LoRA)
      dw.accumulate(0, scratch.row(p, 3, c), 0, c);
      db.accumulate(0, scratch.row(p, 4, c), 0, c);
    }
  }
}
