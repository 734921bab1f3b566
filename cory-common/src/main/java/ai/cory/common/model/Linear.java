package ai.cory.common.model;

/**
 * Affine map of rows, in either Hugging Face storage layout, never transposed at load:
 * GPT-2's {@code Conv1D} keeps W as (in, out) and computes {@code y = x @ W + b}; Llama's
 * {@code nn.Linear} keeps W as (out, in) and computes {@code y = x @ W^T} (a transposed GEMM).
 * Bias rows are added and reduced with BLAS rank-one / matrix-vector products against a vector
 * of ones, so no element-wise Java loop touches the (N, out) activations.
 */
final class Linear {
  private Linear() {}

  /**
   * {@code y (N, out) = x (N, in) @ W [+ b]}, or {@code y +=} that when {@code accumulate} (the
   * residual add fused into the GEMM).
   *
   * @param w      (in, out) when {@code !outIn}, (out, in) when {@code outIn}
   * @param b      (out) or null
   * @param ones   at least N ones
   */
  static void forward(Span y, Span x, Span w, Span b, int n, int in, int out, boolean outIn,
      boolean accumulate, Span ones) {
    Blas.gemm(false, outIn, n, out, in, 1.0, x, 0, in, w, 0, outIn ? in : out,
        accumulate ? 1.0 : 0.0, y, 0, out);
    if (b != null) {
      Blas.ger(n, out, 1.0, ones, 0, b, 0, y, 0, out);
    }
  }

  /**
   * Backward of {@link #forward}: {@code dW +=}, {@code db +=} (if b), and {@code dx =} (or
   * {@code +=} when {@code dxAccumulate}) for the upstream {@code dy (N, out)}.
   *
   * @param dx (N, in) or null when the input gradient is not needed
   * @param x  (N, in) forward input
   */
  static void backward(Span dx, boolean dxAccumulate, Span dw, Span db, Span dy, Span x, Span w,
      int n, int in, int out, boolean outIn, Span ones) {
    if (outIn) {
      Blas.gemm(true, false, out, in, n, 1.0, dy, 0, out, x, 0, in, 1.0, dw, 0, in);
    } else {
      Blas.gemm(true, false, in, out, n, 1.0, x, 0, in, dy, 0, out, 1.0, dw, 0, out);
    }
    if (db != null) {
      Blas.gemv(true, n, out, 1.0, dy, 0, out, ones, 0, 1.0, db, 0);
    }
    if (dx != null) {
      Blas.gemm(false, !outIn, n, in, out, 1.0, dy, 0, out, w, 0, outIn ? in : out,
          dxAccumulate ? 1.0 : 0.0, dx, 0, in);
    }
  }
}
