package ai.cory.common.cuda;

import ai.cory.common.config.Compute;
import ai.cory.common.model.BaseDtype;
import ai.cory.common.model.CausalLm;
import ai.cory.common.model.ForwardOptions;
import ai.cory.common.model.FrozenBase;
import ai.cory.common.model.LoraSpec;
import ai.cory.common.model.ModelConfig;
import ai.cory.common.model.ParamLayout;
import ai.cory.common.model.Parameters;
import ai.cory.common.model.TokenBatch;
import ai.cory.common.model.ModelPass;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The engine on the device against the engine on the CPU: the same wiring ({@link ModelPass})
 * scores a padded batch (taken-token log-probs, log-sum-exp, entropy, values) and runs the
 * backward from random upstream gradients on both backends, for a GPT-2 model trained whole
 * and a Llama model (grouped-query attention, RoPE, SwiGLU) with LoRA adapters on every
 * projection, over a float32 base and over the same base packed to NF4 with double
 * quantisation; every output and every trainable tensor's gradient must agree, and greedy
 * KV-cache generation from the batch's left-padded first half must give the same tokens. The CPU engine is
 * the oracle here because it is itself held to the PyTorch goldens (and float64 finite
 * differences) by the CPU tests. Float32 GEMMs: the only differences are
 * summation order and the CPU's double-precision row kernels. The Llama LoRA agent's scores and
 * gradients are compared again in TF32 and bf16 math ({@link #TOL_TF32}, {@link #TOL_BF16}).
 */
final class EngineChecks {
  static final double TOL = 1e-4;
  /**
   * Scores and gradients in tensor-core math against the float32 CPU engine: each GEMM operand
   * rounded to TF32 (10-bit mantissa) or bf16 (7-bit) before its products, through two blocks
   * and the heads. Greedy tokens are not compared there (a near tie may flip).
   */
  static final double TOL_TF32 = 5e-3;
  static final double TOL_BF16 = 4e-2;
  private static final int B = 2;
  private static final int T = 24;
  private static final int GREEDY_STEPS = 8;

  private final DeviceOps ops;

  EngineChecks(DeviceOps ops) {
    this.ops = ops;
  }

  static ModelConfig gpt2() {
    return new ModelConfig(ModelConfig.Arch.GPT2, 96, 64, 2, 4, 4, 256, 64, 1e-5, 0.0, true, -1,
        -1);
  }

  static ModelConfig llama() {
    return new ModelConfig(ModelConfig.Arch.LLAMA, 96, 64, 2, 4, 2, 172, 64, 1e-5, 10000.0,
        false, 1, 2);
  }

  List<CheckResult> run() {
    List<CheckResult> out = new ArrayList<>();
    try (DeviceArena arena = ops.arena(256L << 20)) {
      CudaAccelerator acc = new CudaAccelerator(ops, arena, Compute.GemmMath.FP32);
      out.addAll(compare(acc, "engine gpt2 full", CausalLm.random(gpt2(), DataType.FLOAT, 11),
          TOL, true));
      arena.reset();
      CausalLm base = CausalLm.random(llama(), DataType.FLOAT, 12);
      CausalLm agent = base.withAdapters(LoraSpec.of(4, 8, LoraSpec.LLAMA_MODULES,
          ModelConfig.Arch.LLAMA), 13);
      perturb(agent.params(), 14); // LoRA's B starts at zero: A's gradient would be too
      out.addAll(compare(acc, "engine llama lora", agent, TOL, true));
      for (Compute.GemmMath math : List.of(Compute.GemmMath.TF32, Compute.GemmMath.BF16)) {
        arena.reset();
        String m = math.name().toLowerCase(java.util.Locale.ROOT);
        out.addAll(compare(new CudaAccelerator(ops, arena, math), "engine llama lora " + m,
            agent, math == Compute.GemmMath.TF32 ? TOL_TF32 : TOL_BF16, false));
      }
      arena.reset();
      // the same adapters over the base packed to NF4 with double quantisation: resident packed,
      // dequantised tile by tile on the device as on the CPU
      CausalLm packed = FrozenBase.pack(base, BaseDtype.NF4_DQ).withAdapters(agent.params());
      out.addAll(compare(acc, "engine llama nf4-dq lora", packed, TOL, true));
    }
    return out;
  }

  private static void perturb(Parameters params, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    for (String name : params.names()) {
      double[] v = params.values(name);
      for (int i = 0; i < v.length; i++) {
        v[i] += 0.05 * (2 * r.nextDouble() - 1);
      }
      params.set(name, v);
    }
  }

  /** Left-padded rows of random tokens: row 1 starts 5 tokens late. */
  static TokenBatch batch(int vocab) {
    SplittableRandom r = new SplittableRandom(15);
    int[][] tokens = new int[B][T];
    int[][] mask = new int[B][T];
    for (int b = 0; b < B; b++) {
      for (int t = 0; t < T; t++) {
        tokens[b][t] = r.nextInt(vocab);
        mask[b][t] = b == 1 && t < 5 ? 0 : 1;
      }
    }
    return TokenBatch.of(tokens, mask);
  }

  /** Scores and gradients within {@code tol}, and the greedy tokens when asked. */
  private static List<CheckResult> compare(CudaAccelerator acc, String name, CausalLm lm,
      double tol, boolean greedy) {
    ModelConfig cfg = lm.config();
    TokenBatch batch = batch(cfg.vocabSize());
    ModelPass host = ModelPass.onHost(lm, B, T, true);
    ModelPass dev = ModelPass.on(acc, lm, B, T, true);
    // from column 3 to the last, which has no next token (a head row without a target)
    ForwardOptions opt = new ForwardOptions(3, T, ForwardOptions.Vocab.NONE, true, true);
    ModelPass.Scores sHost = host.score(batch, opt);
    ModelPass.Scores sDev = dev.score(batch, opt);
    SplittableRandom r = new SplittableRandom(16);
    float[] dLogp = uniform(r, sHost.logp().length);
    float[] dValues = uniform(r, sHost.values().length);
    host.backward(dLogp, dValues);
    dev.backward(dLogp, dValues);
    String shape = cfg.arch() + " L" + cfg.layers() + " C" + cfg.hidden() + " V"
        + cfg.vocabSize() + " " + B + "x" + T;
    List<CheckResult> out = new ArrayList<>();
    Worst scores = new Worst();
    scores.add("logp", sDev.logp(), sHost.logp());
    scores.add("lse", sDev.lse(), sHost.lse());
    scores.add("entropy", sDev.entropy(), sHost.entropy());
    scores.add("values", sDev.values(), sHost.values());
    out.add(new CheckResult(name + " scores", shape + ", worst " + scores.name, scores.error,
        tol));
    float[] gHost = host.gradients();
    float[] gDev = dev.gradients();
    Worst grads = new Worst();
    for (ParamLayout.Entry e : lm.params().layout().entries()) { // each tensor at its own scale
      int from = Math.toIntExact(e.offset());
      int to = from + Math.toIntExact(e.length());
      grads.add(e.name(), Arrays.copyOfRange(gDev, from, to), Arrays.copyOfRange(gHost, from, to));
    }
    out.add(new CheckResult(name + " gradients", shape + ", "
        + lm.params().layout().entries().size() + " tensors, worst " + grads.name, grads.error,
        tol));
    if (!greedy) {
      return out;
    }
    int[][] prompts = new int[B][];
    int[][] mask = new int[B][];
    for (int b = 0; b < B; b++) { // the batch's first half: row 1 left-padded by 5
      prompts[b] = new int[T / 2];
      mask[b] = new int[T / 2];
      for (int t = 0; t < T / 2; t++) {
        prompts[b][t] = batch.token(b, t);
        mask[b][t] = batch.mask(b, t);
      }
    }
    int[][] expected = host.greedy(prompts, mask, GREEDY_STEPS);
    out.add(new CheckResult(name + " greedy KV-cache", B + " left-padded prompts of " + T / 2
        + " + " + GREEDY_STEPS + " tokens, share differing",
        GoldenChecks.mismatch(dev.greedy(prompts, mask, GREEDY_STEPS), expected), 0));
    return out;
  }

  static float[] uniform(SplittableRandom r, int n) {
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      x[i] = (float) (2 * r.nextDouble() - 1);
    }
    return x;
  }

  /** The worst of several comparisons, each at its own scale, and which it was. */
  static final class Worst {
    double error;
    String name = "";

    void add(String what, float[] got, float[] ref) {
      double e = CheckResult.error(got, DeviceScratch.widen(ref));
      if (!(e <= error)) {
        error = e;
        name = what;
      }
    }
  }
}
