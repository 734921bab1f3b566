package ai.cory.common.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Finite-difference check (double precision) of the whole model's backward pass, every tensor,
 * for tiny random GPT-2 and Llama (GQA, tied and untied head) configurations, on a batch with
 * left padding, right padding and a full row. The loss combines every differentiable output:
 * {@code sum(A * logp) + sum(G * fullLogProbs) + sum(Bv * values)} over the computed columns.
 */
class ModelGradientTest {
  private static final double TOL = 1e-6;
  private static final int CHECKS_PER_TENSOR = 24;

  static ModelConfig tinyGpt2() {
    return new ModelConfig(ModelConfig.Arch.GPT2, 23, 8, 2, 2, 2, 12, 12, 1e-5, 0, true, 0, 0);
  }

  static ModelConfig tinyGpt2Untied() {
    return new ModelConfig(ModelConfig.Arch.GPT2, 23, 8, 2, 2, 2, 12, 12, 1e-5, 0, false, 0, 0);
  }

  static ModelConfig tinyLlama(boolean tied) {
    return new ModelConfig(ModelConfig.Arch.LLAMA, 19, 8, 2, 4, 2, 10, 16, 1e-5, 10000.0, tied,
        1, 2);
  }

  @Test
  void gpt2() {
    check(tinyGpt2(), 11);
  }

  @Test
  void gpt2Untied() {
    check(tinyGpt2Untied(), 14);
  }

  @Test
  void llamaTied() {
    check(tinyLlama(true), 12);
  }

  @Test
  void llamaUntied() {
    check(tinyLlama(false), 13);
  }

  private void check(ModelConfig cfg, long seed) {
    CausalLm lm = CausalLm.random(cfg, DataType.DOUBLE, seed);
    // Larger weights than the 0.02 init so every path (attention, norms) is far from linear.
    Parameters p = lm.params();
    SplittableRandom rng = new SplittableRandom(seed);
    Span all = p.span();
    for (long i = 0; i < all.length; i++) {
      all.set(i, all.get(i) + 0.3 * rng.nextGaussian());
    }
    int[][] tokens = new int[3][6];
    for (int[] row : tokens) {
      for (int t = 0; t < row.length; t++) {
        row[t] = rng.nextInt(cfg.vocabSize());
      }
    }
    int[][] mask = {{0, 0, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 0}, {1, 1, 1, 1, 1, 1}};
    TokenBatch batch = TokenBatch.of(tokens, mask);
    ForwardOptions opt = new ForwardOptions(1, 5, ForwardOptions.Vocab.LOG_PROBS, true, true);
    Workspace ws = lm.newWorkspace(3, 6, true, false);
    int rows = 3 * opt.columns();
    INDArray a = Nd4j.randn(DataType.DOUBLE, 3, 5);
    INDArray g = Nd4j.randn(DataType.DOUBLE, rows, cfg.vocabSize());
    INDArray bv = Nd4j.randn(DataType.DOUBLE, 3, 6);
    java.util.function.DoubleSupplier loss = () -> {
      ForwardResult r = lm.forward(ws, batch, opt);
      return r.logp().mul(a).sumNumber().doubleValue()
          + r.vocab().mul(g).sumNumber().doubleValue()
          + r.values().mul(bv).sumNumber().doubleValue();
    };
    lm.forward(ws, batch, opt);
    lm.zeroGrad();
    lm.backward(ws, a, g, bv);
    Parameters grads = lm.grads();
    double worst = 0;
    String worstName = "";
    for (ParamLayout.Entry e : p.layout().entries()) {
      Span x = p.span(e.name());
      Span dx = grads.span(e.name());
      double err = GradCheck.relativeError(x, dx, e.length(), loss, CHECKS_PER_TENSOR, rng);
      if (System.getenv("GRADCHECK_VERBOSE") != null) {
        System.out.printf("  %-47s %.3e%n", e.name(), err);
      }
      GradCheck.assertClose(cfg.arch() + " " + e.name(), err, TOL, dx, e.length());
      if (err > worst) {
        worst = err;
        worstName = e.name();
      }
    }
    System.out.printf("%s tied=%s: worst relative FD error %.2e (%s)%n", cfg.arch(),
        cfg.tiedEmbeddings(), worst, worstName);
    assertTrue(worst <= TOL);
  }
}
