package ai.cory.common.model;

/**
 * HF {@code gelu_new} (GPT-2), the tanh approximation:
 * {@code y = 0.5 x (1 + tanh(u))}, {@code u = sqrt(2/pi) (x + 0.044715 x^3)};
 * {@code dy/dx = 0.5 (1 + t) + 0.5 x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2)}.
 */
final class Gelu {
  private static final int BLOCK = 4096;

  private Gelu() {}

  /** {@code out (n) = gelu(x (n))}; out may alias x. */
  static void forward(Span out, Span x, long n, Scratch scratch) {
    forBlocks(n, (part, from, len) -> {
      double[] xr = scratch.row(part, 0, BLOCK);
      x.read(from, xr, 0, len);
      VecMath.gelu(xr, len);
      out.write(from, xr, 0, len);
    });
  }

  /** {@code dx (n) = dout * gelu'(x)}; dx may alias dout. */
  static void backward(Span dx, Span dout, Span x, long n, Scratch scratch) {
    forBlocks(n, (part, from, len) -> {
      double[] xr = scratch.row(part, 0, BLOCK);
      double[] gr = scratch.row(part, 1, BLOCK);
      x.read(from, xr, 0, len);
      dout.read(from, gr, 0, len);
      VecMath.geluBackward(xr, gr, len);
      dx.write(from, gr, 0, len);
    });
  }

  /** Work on element block {@code [from, from + len)} of a flat range. */
  @FunctionalInterface
  interface BlockBody {
    void run(int part, long from, int len);
  }

  /** Splits {@code [0, n)} into blocks of at most {@link #BLOCK} elements over the pool. */
  static void forBlocks(long n, BlockBody body) {
    int blocks = Math.toIntExact((n + BLOCK - 1) / BLOCK);
    Parallel.forRange(blocks, 4, (part, b0, b1) -> {
      for (int blk = b0; blk < b1; blk++) {
        long from = (long) blk * BLOCK;
        body.run(part, from, (int) Math.min(BLOCK, n - from));
      }
    });
  }

  /** Size of the element blocks handed to kernels (scratch rows must hold this many). */
  static int block() {
    return BLOCK;
  }
}
