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
 * The engine's model pass on the GPU, as {@code bin/cory bench} measures it on the CPU and at
 * the shapes the PyTorch peer ({@code torch_peer.py --device cuda}, {@link PeerBench}) times:
 * {@code score} (forward through every block and the heads: every column's taken-token
 * log-prob, as PPO scores a rollout with the policy and the reference), {@code train} (forward
 * with values, then the backward from the log-prob and value gradients into every trainable
 * tensor) over B x T tokens, and {@code generate} (a prefill of P prompt columns and N greedy
 * KV-cache decode steps for G rows, tokens/s counting the new tokens; each step's logits come
 * to the host for the choice). Shapes: GPT-2-small trained whole (the peer's defaults: B 8, T
 * 128; G 64, P 8, N 32), and Llama-2-7B (all 32 blocks, random weights generated straight
 * into the packed base) with LoRA rank 16 over an NF4 and over a bf16 base, resident packed
 * (B = G = 4, T 128, P 8, N 32). Medians of timed repeats bracketed by device
 * synchronisation, each including the per-token results' copy to the host; JSON lines like the
 * other GPU benches.
 */
final class EngineBench {
  private static final int REPEATS = 5;

  /**
   * One model shape: train and score over {@code batch} x {@code seq}, generate {@code
   * newTokens} after {@code prompt} for {@code genBatch} rows.
   */
  record Case(String model, ModelConfig cfg, BaseDtype base, int loraRank, int batch, int seq,
      int genBatch, int prompt, int newTokens) {
    /** The peer's preset of this shape. */
    String peerModel() {
      return cfg.arch() == ModelConfig.Arch.GPT2 ? "gpt2-small" : "llama2-7b";
    }

    /** torch_peer.py's arguments for the same shapes (its defaults where they agree). */
    List<String> peerArgs() {
      List<String> a = new ArrayList<>(List.of("--model", peerModel(), "--seq",
          String.valueOf(seq), "--prompt", String.valueOf(prompt), "--new",
          String.valueOf(newTokens), "--repeats", String.valueOf(REPEATS)));
      if (batch == genBatch) { // else the peer's defaults: 8 for train / score, 64 for generate
        a.addAll(List.of("--batch", String.valueOf(batch)));
      }
      if (loraRank > 0) {
        a.addAll(List.of("--lora-rank", String.valueOf(loraRank)));
      }
      return a;
    }
  }

  /** One measurement: tokens/s of a mode in a math, with the device memory the pass held. */
  record Result(Case c, Compute.GemmMath math, String mode, double seconds, long tokens,
      long bytes) {
    double tokensPerSecond() {
      return tokens / seconds;
    }

    String json() {
      return String.format(Locale.ROOT, "{\"bench\":\"engine\",\"model\":\"%s\",\"layers\":%d,"
          + "\"base_dtype\":\"%s\",\"lora_rank\":%d,\"math\":\"%s\",\"mode\":\"%s\","
          + "\"batch\":%d,\"seq\":%d,\"seconds_median\":%.6e,\"tokens_per_s\":%.1f,"
          + "\"device_gib\":%.2f}", c.model(), c.cfg().layers(), c.base().key(), c.loraRank(),
          math.name().toLowerCase(Locale.ROOT), mode,
          mode.equals("generate") ? c.genBatch() : c.batch(),
          mode.equals("generate") ? c.prompt() + c.newTokens() : c.seq(), seconds,
          tokensPerSecond(), bytes / (double) (1L << 30));
    }
  }

  private static final ModelConfig LLAMA_2_7B = new ModelConfig(ModelConfig.Arch.LLAMA, 32000,
      4096, 32, 32, 32, 11008, 4096, 1e-5, 10000.0, false, 1, 2);

  static final List<Case> CASES = List.of(
      new Case("gpt2-small", new ModelConfig(ModelConfig.Arch.GPT2, 50257, 768, 12, 12, 12, 3072,
          1024, 1e-5, 0.0, true, 50256, 50256), BaseDtype.FLOAT32, 0, 8, 128, 64, 8, 32),
      new Case("llama-2-7b", LLAMA_2_7B, BaseDtype.NF4, 16, 4, 128, 4, 8, 32),
      new Case("llama-2-7b", LLAMA_2_7B, BaseDtype.BF16, 16, 4, 128, 4, 8, 32));

  private final DeviceOps ctx;
  private final List<Case> cases;

  EngineBench(DeviceOps ctx, List<Case> cases) {
    this.ctx = ctx;
    this.cases = cases;
  }

  /** Every case in every math: score, train and generate, as JSON lines. */
  List<String> run() {
    return results().stream().map(Result::json).toList();
  }

  List<Result> results() {
    List<Result> out = new ArrayList<>();
    for (Case c : cases) {
      CausalLm lm = FrozenBase.random(c.cfg(), DataType.FLOAT, c.base(), 7);
      if (c.loraRank() > 0) {
        lm = lm.withAdapters(LoraSpec.of(c.loraRank(), 2.0 * c.loraRank(),
            LoraSpec.defaultTargets(c.cfg().arch()), c.cfg().arch()), 8);
      }
      TokenBatch batch = TokenBatch.of(tokens(c.batch(), c.seq(), c.cfg().vocabSize()));
      int[][] prompts = tokens(c.genBatch(), c.prompt(), c.cfg().vocabSize());
      for (Compute.GemmMath math : Compute.GemmMath.values()) {
        try (DeviceArena arena = ctx.arena(deviceBytes(c))) {
          ModelPass pass = ModelPass.on(new CudaAccelerator(ctx, arena, math), lm,
              Math.max(c.batch(), c.genBatch()), Math.max(c.seq(), c.prompt() + c.newTokens()),
              true);
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
          double generate = median(() -> pass.greedy(prompts, null, c.newTokens()));
          out.add(new Result(c, math, "score", score, (long) c.batch() * c.seq(), arena.used()));
          out.add(new Result(c, math, "train", train, (long) c.batch() * c.seq(), arena.used()));
          out.add(new Result(c, math, "generate", generate, (long) c.genBatch() * c.newTokens(),
              arena.used()));
        }
      }
    }
    return out;
  }

  /** Weights, adapters, gradients, the training workspace and the cache, with room to spare. */
  private static long deviceBytes(Case c) {
    ModelConfig m = c.cfg();
    long base = FrozenBase.plannedBytes(m, DataType.FLOAT, c.base());
    long trainable = c.loraRank() > 0 ? 4L * ParamLayout.adapters(m, LoraSpec.of(c.loraRank(),
        2.0 * c.loraRank(), LoraSpec.defaultTargets(m.arch()), m.arch())).size() : base;
    int rows = Math.max(c.batch(), c.genBatch());
    int seq = Math.max(c.seq(), c.prompt() + c.newTokens());
    long[] ws = Workspace.plannedBytes(m, DataType.FLOAT, rows, seq, true, false, false);
    long cache = KvCache.plannedBytes(m, DataType.FLOAT, c.genBatch(), c.prompt() + c.newTokens());
    return base + 2 * trainable + 2 * (ws[0] + ws[1]) + cache + (1L << 30);
  }

  private static int[][] tokens(int rows, int seq, int vocab) {
    SplittableRandom r = new SplittableRandom(9L * rows + seq);
    int[][] tokens = new int[rows][seq];
    for (int[] row : tokens) {
      for (int t = 0; t < row.length; t++) {
        row[t] = r.nextInt(vocab);
      }
    }
    return tokens;
  }

  private double median(Runnable call) {
    return GemmBench.median(ctx, call, 1, REPEATS);
  }
}
