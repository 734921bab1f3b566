package ai.cory.common.cuda;

import ai.cory.common.config.Compute;
import ai.cory.common.model.BaseDtype;
import ai.cory.common.model.CausalLm;
import ai.cory.common.model.ForwardOptions;
import ai.cory.common.model.FrozenBase;
import ai.cory.common.model.KvCache;
import ai.cory.common.model.LoraSpec;
import ai.cory.common.model.ModelConfig;
import ai.cory.common.model.ParamLayout;
import ai.cory.common.model.ModelPass;
import ai.cory.common.model.TokenBatch;
import ai.cory.common.model.Workspace;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The engine's model pass on the GPU, as {@code bin/cory bench} measures it on the CPU:
 * {@code score} (forward through every block and the heads: every column's taken-token
 * log-prob, as PPO scores a rollout with the policy and the reference), {@code train} (forward
 * with values, then the backward from the log-prob and value gradients into every trainable
 * tensor) over B x T tokens, and {@code generate} (a prefill of T/2 prompt columns and T/2
 * greedy KV-cache decode steps, tokens/s counting the new tokens; each step's logits come to
 * the host for the choice, as the device sampler is not in the loop yet). Shapes: GPT-2-small
 * trained whole, and Llama-2-7B (all 32 blocks, random weights generated straight into the
 * packed base) with LoRA rank 16 over an NF4 and over a bf16 base, resident packed and
 * dequantised tile by tile in each GEMM. Medians of timed repeats bracketed by device
 * synchronisation, each including the per-token results' copy to the host; JSON lines like the
 * other GPU benches.
 */
final class EngineBench {
  private static final int REPEATS = 5;

  record Case(String model, ModelConfig cfg, BaseDtype base, int loraRank, int batch, int seq) {}

  private static final ModelConfig LLAMA_2_7B = new ModelConfig(ModelConfig.Arch.LLAMA, 32000,
      4096, 32, 32, 32, 11008, 4096, 1e-5, 10000.0, false, 1, 2);

  static final List<Case> CASES = List.of(
      new Case("gpt2-small", new ModelConfig(ModelConfig.Arch.GPT2, 50257, 768, 12, 12, 12, 3072,
          1024, 1e-5, 0.0, true, 50256, 50256), BaseDtype.FLOAT32, 0, 8, 128),
      new Case("llama-2-7b", LLAMA_2_7B, BaseDtype.NF4, 16, 4, 128),
      new Case("llama-2-7b", LLAMA_2_7B, BaseDtype.BF16, 16, 4, 128));

  private final DeviceOps ctx;
  private final List<Case> cases;

  EngineBench(DeviceOps ctx, List<Case> cases) {
    this.ctx = ctx;
    this.cases = cases;
  }

  List<String> run() {
    List<String> lines = new ArrayList<>();
    for (Case c : cases) {
      CausalLm lm = FrozenBase.random(c.cfg(), DataType.FLOAT, c.base(), 7);
      if (c.loraRank() > 0) {
        lm = lm.withAdapters(LoraSpec.of(c.loraRank(), 2.0 * c.loraRank(),
            LoraSpec.defaultTargets(c.cfg().arch()), c.cfg().arch()), 8);
      }
      TokenBatch batch = batch(c);
      for (Compute.GemmMath math : Compute.GemmMath.values()) {
        try (DeviceArena arena = ctx.arena(deviceBytes(c))) {
          ModelPass pass = ModelPass.on(new CudaAccelerator(ctx, arena, math), lm, c.batch(),
              c.seq(), true);
          ForwardOptions scoring = ForwardOptions.logprobs(0, c.seq());
          ForwardOptions training = ForwardOptions.logprobsAndValues(0, c.seq());
          float[] dLogp = EngineChecks.uniform(new SplittableRandom(10),
              c.batch() * (c.seq() - 1));
          float[] dValues = EngineChecks.uniform(new SplittableRandom(11), c.batch() * c.seq());
          double score = median(() -> pass.score(batch, scoring));
          double train = median(() -> {
            pass.score(batch, training);
            pass.backward(dLogp, dValues);
          });
          int[][] prompts = new int[c.batch()][c.seq() / 2];
          for (int b = 0; b < c.batch(); b++) {
            for (int t = 0; t < c.seq() / 2; t++) {
              prompts[b][t] = batch.token(b, t);
            }
          }
          int steps = c.seq() - c.seq() / 2;
          double generate = median(() -> pass.greedy(prompts, null, steps));
          lines.add(line(c, math, "score", score, c.batch() * c.seq(), arena.used()));
          lines.add(line(c, math, "train", train, c.batch() * c.seq(), arena.used()));
          lines.add(line(c, math, "generate", generate, c.batch() * steps, arena.used()));
        }
      }
    }
    return lines;
  }

  /** Weights, adapters, gradients, the training workspace and the cache, with room to spare. */
  private static long deviceBytes(Case c) {
    ModelConfig m = c.cfg();
    long base = FrozenBase.plannedBytes(m, DataType.FLOAT, c.base());
    long trainable = c.loraRank() > 0 ? 4L * ParamLayout.adapters(m, LoraSpec.of(c.loraRank(),
        2.0 * c.loraRank(), LoraSpec.defaultTargets(m.arch()), m.arch())).size() : base;
    long[] ws = Workspace.plannedBytes(m, DataType.FLOAT, c.batch(), c.seq(), true, false, false);
    long cache = KvCache.plannedBytes(m, DataType.FLOAT, c.batch(), c.seq());
    return base + 2 * trainable + 2 * (ws[0] + ws[1]) + cache + (1L << 30);
  }

  private static TokenBatch batch(Case c) {
    SplittableRandom r = new SplittableRandom(9);
    int[][] tokens = new int[c.batch()][c.seq()];
    for (int[] row : tokens) {
      for (int t = 0; t < row.length; t++) {
        row[t] = r.nextInt(c.cfg().vocabSize());
      }
    }
    return TokenBatch.of(tokens);
  }

  private String line(Case c, Compute.GemmMath math, String mode, double seconds, long tokens,
      long bytes) {
    return String.format(Locale.ROOT, "{\"bench\":\"engine\",\"model\":\"%s\",\"layers\":%d,"
        + "\"base_dtype\":\"%s\",\"lora_rank\":%d,\"math\":\"%s\",\"mode\":\"%s\","
        + "\"batch\":%d,\"seq\":%d,\"seconds_median\":%.6e,\"tokens_per_s\":%.1f,"
        + "\"device_gib\":%.2f}", c.model(), c.cfg().layers(), c.base().key(), c.loraRank(),
        math.name().toLowerCase(Locale.ROOT), mode, c.batch(), c.seq(), seconds,
        tokens / seconds, bytes / (double) (1L << 30));
  }

  private double median(Runnable call) {
    return GemmBench.median(ctx, call, 1, REPEATS);
  }
}
