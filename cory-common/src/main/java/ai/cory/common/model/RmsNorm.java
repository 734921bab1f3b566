package ai.cory.common.model;

import java.util.Arrays;

/**
 * RMSNorm as HF {@code LlamaRMSNorm}: {@code y = w * x / sqrt(mean(x^2) + eps)} (no mean, no
 * bias). With {@code n = x * rstd} and {@code g = dy * w}:
 * {@code dx = rstd * (g - n * mean(g * n))}, {@code dw = sum_rows dy * n}.
 */
final class RmsNorm {
  private static final int MIN_ROWS_PER_PART = 16;

  private RmsNorm() {}

  /**
   * @param out  (N, C) normalised output
   * @param rstd (N) cached 1 / sqrt(mean(x^2) + eps)
   * @param x    (N, C) input
   * @param w    (C) gain
   */
  static void forward(Span out, Span rstd, Span x, Span w, int n, int c, double eps,
      Scratch scratch) {
    Parallel.forRange(n, MIN_ROWS_PER_PART, (part, from, to) -> {
      double[] xr = scratch.row(part, 0, c);
      double[] wr = scratch.row(part, 1, c);
      w.read(0, wr, 0, c);
      for (int r = from; r < to; r++) {
        x.read((long) r * c, xr, 0, c);
        double rs = VecMath.rmsNormRow(xr, wr, c, eps);
        out.write((long) r * c, xr, 0, c);
        rstd.set(r, rs);
      }
    });
  }

  /**
   * Accumulates {@code dx (N, C) +=} and {@code dw (C) +=}.
   *
   * @param dout (N, C) upstream gradient
   * @param x    (N, C) forward input; rstd (N) from forward
   */
  static void backward(Span dx, Span dw, Span dout, Span x, Span rstd, Span w, int n, int c,
      Scratch scratch) {
    int parts = Parallel.parts(n, MIN_ROWS_PER_PART);
    Parallel.forRange(n, MIN_ROWS_PER_PART, (part, from, to) -> {
      double[] xr = scratch.row(part, 0, c);
      double[] gr = scratch.row(part, 1, c);
      double[] wr = scratch.row(part, 2, c);
      double[] dwAcc = scratch.row(part, 3, c);
      Arrays.fill(dwAcc, 0, c, 0.0);
      w.read(0, wr, 0, c);
      for (int r = from; r < to; r++) {
        x.read((long) r * c, xr, 0, c);
        dout.read((long) r * c, gr, 0, c);
        VecMath.rmsNormBackwardRow(xr, gr, wr, rstd.get(r), dwAcc, c);
        dx.accumulate((long) r * c, gr, 0, c);
      }
    });
    for (int p = 0; p < parts && dw != null; p++) { // dw null: a frozen norm (LoRA)
      dw.accumulate(0, scratch.row(p, 3, c), 0, c);
    }
  }
}
