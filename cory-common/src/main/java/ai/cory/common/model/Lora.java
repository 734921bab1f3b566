package ai.cory.common.model;

/**
 * LoRA's forward and backward on one projection slot, llm.c style, after the frozen projection
 * ({@link Linear}) ran: {@code y[:, off:off+out] += s * (x A^T) B^T} with {@code s = alpha / r}.
 * The (N, r) intermediate {@code u = x A^T} is recomputed in the backward pass rather than
 * kept (it costs {@code N r in}, a fraction of the frozen GEMM's {@code N out in}).
 *
 * <pre>
 * dB += s dy^T u        (out, r)
 * du  = s dy B          (N, r)
 * dA += du^T x          (r, in)
 * dx += du A            (N, in)
 * </pre>
 */
final class Lora {
  private Lora() {}

  /**
   * Adds every adapter of a slot to its output.
   *
   * @param y   (N, ldy) the slot's fused output
   * @param x   (N, in) the slot's input
   */
  static void forward(Span y, int ldy, Span x, LoraWeights.Adapter[] adapters, int n, int rank,
      double scale) {
    if (adapters.length == 0) {
      return;
    }
    Span u = ThreadSpans.get(ThreadSpans.LORA_U, x.dataType(), (long) n * rank);
    for (LoraWeights.Adapter ad : adapters) {
      Blas.gemm(false, true, n, rank, ad.in(), 1.0, x, 0, ad.in(), ad.a(), 0, ad.in(), 0.0, u, 0,
          rank);
      Blas.gemm(false, true, n, ad.out(), rank, scale, u, 0, rank, ad.b(), 0, rank, 1.0, y,
          ad.colOffset(), ldy);
    }
  }

  /**
   * Backward of {@link #forward}: accumulates the adapters' gradients into {@code grads} and
   * adds their input gradient to {@code dx}, which already holds the frozen projection's.
   *
   * @param dy (N, ldy) upstream gradient of the slot's fused output
   * @param x  (N, in) the slot's forward input
   */
  static void backward(Span dx, Span dy, int ldy, Span x, LoraWeights.Adapter[] adapters,
      LoraWeights.Adapter[] grads, int n, int rank, double scale) {
    if (adapters.length == 0) {
      return;
    }
    Span u = ThreadSpans.get(ThreadSpans.LORA_U, x.dataType(), (long) n * rank);
    Span du = ThreadSpans.get(ThreadSpans.LORA_DU, x.dataType(), (long) n * rank);
    for (int k = 0; k < adapters.length; k++) {
      LoraWeights.Adapter ad = adapters[k];
      LoraWeights.Adapter g = grads[k];
      int in = ad.in();
      Blas.gemm(false, true, n, rank, in, 1.0, x, 0, in, ad.a(), 0, in, 0.0, u, 0, rank);
      Blas.gemm(true, false, ad.out(), rank, n, scale, dy, ad.colOffset(), ldy, u, 0, rank, 1.0,
          g.b(), 0, rank);
      Blas.gemm(false, false, n, rank, ad.out(), scale, dy, ad.colOffset(), ldy, ad.b(), 0, rank,
          0.0, du, 0, rank);
      Blas.gemm(true, false, rank, in, n, 1.0, du, 0, rank, x, 0, in, 1.0, g.a(), 0, in);
      if (dx != null) {
        Blas.gemm(false, false, n, in, rank, 1.0, du, 0, rank, ad.a(), 0, in, 1.0, dx, 0, in);
      }
    }
  }
}
