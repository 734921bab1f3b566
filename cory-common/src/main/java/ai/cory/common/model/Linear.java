package ai.cory.common.model;

/**
 * Affine map of rows, in either Hugging Face storage layout, never transposed at load:
 * GPT-2's {@code Conv1D} keeps W as (in, out) and computes {@code y = x @ W + b}; Llama's
 * {@code nn.Linear} keeps W as (out, in) and computes {@code y = x @ W^T} (a transposed GEMM).
 * A frozen quantised W is multiplied tile by tile ({@link Matrix}). Bias rows are added and
 * reduced with BLAS rank-one / matrix-vector products against a vector of ones, so no
 * element-wise Java loop touches the (N, out) activations. LoRA adapters add to the output
 * afterwards ({@link Lora}).
 */
final class Linear {
  private Linear() {}

  /**
   * {@code y (N, out) = x (N, in) @ W [+ b]}, or {@code y +=} that when {@code accumulate} (the
   * residual add fused into the GEMM).
   *
   * @param b      (out) or null
   * @param ones   at least N ones
   */
  static void forward(Span y, Span x, Matrix w, Span b, int n, int in, int out,
      boolean accumulate, Span ones) {
    w.multiply(y, x, n, in, out, accumulate);
    if (b != null) {
      Blas.ger(n, out, 1.0, ones, 0, b, 0, y, 0, out);
    }
  }

  /**
   * Backward of {@link #forward}: {@code dW +=} (if dW), {@code db +=} (if db), and {@code dx =}
   * (or {@code +=} when {@code dxAccumulate}) for the upstream {@code dy (N, out)}. A frozen W
   * (LoRA's base) passes null for dW and db: only the activation gradient is computed.
   *
   * @param dx (N, in) or null when the input gradient is not needed
   * @param dw dense gradient in W's layout, or null
   * @param x  (N, in) forward input
   */
  static void backward(Span dx, boolean dxAccumulate, Matrix dw, Span db, Span dy, Span x,
      Matrix w, int n, int in, int out, Span ones) {
    if (dw != null) {
      if (dw.outIn) {
        Blas.gemm(true, false, out, in, n, 1.0, dy, 0, out, x, 0, in, 1.0, dw.dense, 0, in);
      } else {
        Blas.gemm(true, false, in, out, n, 1.0, x, 0, in, dy, 0, out, 1.0, dw.dense, 0, out);
      }
    }
    if (db != null) {
      Blas.gemv(true, n, out, 1.0, dy, 0, out, ones, 0, 1.0, db, 0);
    }
    if (dx != null) {
      w.multiplyTransposed(dx, dy, n, in, out, dxAccumulate);
    }
  }
}
