package ai.cory.common.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * LoRA against independent references: central finite differences in float64 for every adapter
 * tensor of every target module type of both architectures (and the value head), the merged
 * model {@code W + s B A} computed by a separate dense forward, and the frozen base, which the
 * adapters must leave bit for bit as it was.
 */
class LoraTest {
  private static final double TOL = 1e-6;

  @Test
  void gpt2AdapterGradientsMatchFiniteDifferences() {
    checkGradients(ModelGradientTest.tinyGpt2Untied(), LoraSpec.GPT2_MODULES, 21);
  }

  @Test
  void llamaAdapterGradientsMatchFiniteDifferences() {
    checkGradients(ModelGradientTest.tinyLlama(false), LoraSpec.LLAMA_MODULES, 22);
  }

  @Test
  void llamaSingleTargetGradientsMatchFiniteDifferences() {
    checkGradients(ModelGradientTest.tinyLlama(true), List.of("v_proj"), 23);
  }

  @Test
  void mergedModelGivesTheAdaptedLogits() {
    for (ModelConfig cfg : List.of(ModelGradientTest.tinyGpt2(), ModelGradientTest.tinyLlama(false))) {
      CausalLm agent = agent(cfg, LoraSpec.defaultTargets(cfg.arch()), 31, DataType.DOUBLE);
      CausalLm merged = CausalLm.of(agent.merged());
      TokenBatch batch = batch(cfg, new SplittableRandom(5));
      ForwardOptions opt = new ForwardOptions(0, 6, ForwardOptions.Vocab.LOGITS, true, true);
      ForwardResult a = agent.forward(agent.newWorkspace(3, 7, false, true), batch, opt);
      ForwardResult m = merged.forward(merged.newWorkspace(3, 7, false, true), batch, opt);
      double diff = a.vocab().sub(m.vocab()).amaxNumber().doubleValue();
      assertTrue(diff < 1e-11, cfg.arch() + ": merged vs adapted logits differ by " + diff);
      assertTrue(a.values().sub(m.values()).amaxNumber().doubleValue() < 1e-11);
      // and the adapters really changed the model
      CausalLm base = agent.base();
      ForwardResult b = base.forward(base.newWorkspace(3, 7, false, true), batch, opt);
      assertTrue(a.vocab().sub(b.vocab()).amaxNumber().doubleValue() > 1e-3);
    }
  }

  @Test
  void freshAdaptersReproduceTheBaseBitForBit() {
    for (ModelConfig cfg : List.of(ModelGradientTest.tinyGpt2(), ModelGradientTest.tinyLlama(true))) {
      CausalLm base = CausalLm.random(cfg, DataType.FLOAT, 3);
      CausalLm agent = base.withAdapters(LoraSpec.of(4, 8, List.of(), cfg.arch()), 9);
      TokenBatch batch = batch(cfg, new SplittableRandom(6));
      ForwardOptions opt = new ForwardOptions(0, 6, ForwardOptions.Vocab.LOG_PROBS, true, false);
      INDArray ref = base.forward(base.newWorkspace(3, 7, false, true), batch, opt).vocab().dup();
      ForwardResult p = agent.forward(agent.newWorkspace(3, 7, false, true), batch, opt, ref);
      assertArrayEquals(ref.data().asFloat(), p.vocab().data().asFloat(), "B = 0: the agent is the base");
      for (float kl : p.kl().data().asFloat()) {
        assertEquals(0f, kl, "KL to the reference at iteration 0");
      }
    }
  }

  @Test
  void trainingTheAdaptersLeavesTheBaseUntouchedAndHasNoBaseGradient() {
    ModelConfig cfg = ModelGradientTest.tinyLlama(false);
    CausalLm base = CausalLm.random(cfg, DataType.FLOAT, 3);
    INDArray before = base.params().flat().dup();
    CausalLm agent = base.withAdapters(LoraSpec.of(2, 4, List.of(), cfg.arch()), 9);
    assertEquals(ParamLayout.adapters(cfg, agent.lora()).size(), agent.params().layout().size());
    assertTrue(agent.params().layout().size() < base.params().layout().size() / 2);
    TokenBatch batch = batch(cfg, new SplittableRandom(7));
    Workspace ws = agent.newWorkspace(3, 7, true, false);
    agent.forward(ws, batch, new ForwardOptions(1, 6, ForwardOptions.Vocab.NONE, false, true));
    agent.backward(ws, Nd4j.ones(DataType.FLOAT, 3, 6), null, Nd4j.ones(DataType.FLOAT, 3, 7));
    agent.params().flat().subi(agent.grads().flat().mul(0.1));
    assertEquals(before, base.params().flat(), "the shared base is never written");
    assertThrows(IllegalStateException.class, base::merged);
    assertThrows(IllegalArgumentException.class, () -> CausalLm.of(agent.params()));
  }

  @Test
  void kvCacheDecodingWithAdaptersMatchesTheFullForward() {
    ModelConfig cfg = ModelGradientTest.tinyLlama(false);
    CausalLm agent = agent(cfg, LoraSpec.LLAMA_MODULES, 41, DataType.DOUBLE);
    int[][] tokens = {{3, 4, 5, 6, 7}};
    KvCache cache = agent.newKvCache(1, 8);
    agent.prefill(cache, new int[][] {{3, 4, 5, 6}}, null);
    INDArray decoded = agent.decode(cache, new int[] {7}).dup();
    ForwardResult full = agent.forward(agent.newWorkspace(1, 5, false, true), TokenBatch.of(tokens, null),
        new ForwardOptions(4, 5, ForwardOptions.Vocab.LOGITS, false, false));
    assertTrue(decoded.sub(full.vocab()).amaxNumber().doubleValue() < 1e-12);
  }

  @Test
  void targetsAreCheckedAgainstTheArchitecture() {
    assertThrows(IllegalArgumentException.class, () -> LoraSpec.of(4, 8, List.of("q_proj"), ModelConfig.Arch.GPT2));
    assertThrows(IllegalArgumentException.class, () -> new LoraSpec(0, 8, List.of("c_attn")));
    assertEquals(LoraSpec.LLAMA_MODULES, LoraSpec.of(4, 8, List.of(), ModelConfig.Arch.LLAMA).targets());
    assertEquals(2.0, new LoraSpec(8, 16, List.of("c_fc")).scale());
  }

  /** An agent with random adapters (B nonzero) on a random base, weights scaled up so every path is nonlinear. */
  static CausalLm agent(ModelConfig cfg, List<String> targets, long seed, DataType type) {
    CausalLm base = CausalLm.random(cfg, type, seed);
    SplittableRandom rng = new SplittableRandom(seed);
    Span all = base.params().span();
    for (long i = 0; i < all.length; i++) {
      all.set(i, all.get(i) + 0.3 * rng.nextGaussian());
    }
    CausalLm agent = base.withAdapters(LoraSpec.of(3, 6, targets, cfg.arch()), seed + 1);
    Span ad = agent.params().span();
    for (long i = 0; i < ad.length; i++) {
      ad.set(i, ad.get(i) + 0.3 * rng.nextGaussian());
    }
    return agent;
  }

  private static TokenBatch batch(ModelConfig cfg, SplittableRandom rng) {
    int[][] tokens = new int[3][7];
    for (int[] row : tokens) {
      for (int t = 0; t < row.length; t++) {
        row[t] = rng.nextInt(cfg.vocabSize());
      }
    }
    int[][] mask = {{0, 0, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 1, 0}, {1, 1, 1, 1, 1, 1, 1}};
    return TokenBatch.of(tokens, mask);
  }

  private void checkGradients(ModelConfig cfg, List<String> targets, long seed) {
    CausalLm agent = agent(cfg, targets, seed, DataType.DOUBLE);
    SplittableRandom rng = new SplittableRandom(seed);
    TokenBatch batch = batch(cfg, rng);
    ForwardOptions opt = new ForwardOptions(1, 6, ForwardOptions.Vocab.LOG_PROBS, true, true);
    Workspace ws = agent.newWorkspace(3, 7, true, false);
    INDArray a = Nd4j.randn(DataType.DOUBLE, 3, 6);
    INDArray g = Nd4j.randn(DataType.DOUBLE, 3 * opt.columns(), cfg.vocabSize());
    INDArray bv = Nd4j.randn(DataType.DOUBLE, 3, 7);
    DoubleSupplier loss = () -> {
      ForwardResult r = agent.forward(ws, batch, opt);
      return r.logp().mul(a).sumNumber().doubleValue() + r.vocab().mul(g).sumNumber().doubleValue()
          + r.values().mul(bv).sumNumber().doubleValue();
    };
    agent.forward(ws, batch, opt);
    agent.zeroGrad();
    agent.backward(ws, a, g, bv);
    Parameters p = agent.params();
    Parameters grads = agent.grads();
    int checked = 0;
    for (ParamLayout.Entry e : p.layout().entries()) {
      double err = GradCheck.relativeError(p.span(e.name()), grads.span(e.name()), e.length(), loss, 16, rng);
      GradCheck.assertClose(cfg.arch() + " " + e.name(), err, TOL, grads.span(e.name()), e.length());
      checked++;
    }
    assertEquals(2 * ParamLayout.adapterSites(cfg, agent.lora()).size() + 2, checked);
  }
}
