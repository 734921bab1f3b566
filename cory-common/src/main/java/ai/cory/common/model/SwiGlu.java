package ai.cory.common.model;

/**
 * Llama's gated MLP non-linearity {@code act = silu(gate) * up}, {@code silu(g) = g sigmoid(g)},
 * on the fused (N, 2I) output of the adjacent {@code gate_proj | up_proj} weights (gate in the
 * first I columns). {@code silu'(g) = s (1 + g (1 - s))} with {@code s = sigmoid(g)}.
 */
final class SwiGlu {
  private static final int MIN_ROWS_PER_PART = 16;

  private SwiGlu() {}

  /**
   * @param act    (N, I) output
   * @param gateUp (N, 2I) input: gate | up
   */
  static void forward(Span act, Span gateUp, int n, int inter, Scratch scratch) {
    Parallel.forRange(n, MIN_ROWS_PER_PART, (part, from, to) -> {
      double[] g = scratch.row(part, 0, 2 * inter);
      for (int r = from; r < to; r++) {
        gateUp.read((long) r * 2 * inter, g, 0, 2 * inter);
        VecMath.swiglu(g, inter);
        act.write((long) r * inter, g, 0, inter);
      }
    });
  }

  /**
   * @param dGateUp (N, 2I) output gradient (gate | up), overwritten
   * @param dAct    (N, I) upstream gradient
   * @param gateUp  (N, 2I) forward input
   */
  static void backward(Span dGateUp, Span dAct, Span gateUp, int n, int inter, Scratch scratch) {
    Parallel.forRange(n, MIN_ROWS_PER_PART, (part, from, to) -> {
      double[] g = scratch.row(part, 0, 2 * inter);
      double[] d = scratch.row(part, 1, inter);
      for (int r = from; r < to; r++) {
        gateUp.read((long) r * 2 * inter, g, 0, 2 * inter);
        dAct.read((long) r * inter, d, 0, inter);
        VecMath.swigluBackward(g, d, inter);
        dGateUp.write((long) r * 2 * inter, g, 0, 2 * inter);
      }
    });
  }
}
