package ai.cory.driver.bench;

import ai.cory.common.model.BaseDtype;
import ai.cory.common.model.CausalLm;
import ai.cory.common.model.ForwardOptions;
import ai.cory.common.model.KvCache;
import ai.cory.common.model.LoraSpec;
import ai.cory.common.model.ModelConfig;
import ai.cory.common.model.ParamLayout;
import ai.cory.common.model.TokenBatch;
import ai.cory.common.model.Workspace;
import ai.cory.common.sampling.SamplingParams;
import ai.cory.worker.rollout.Generator;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The timed spans, matching {@code torch_peer.py}: generate = prefill + every decode step +
 * sampling (full-vocabulary softmax at temperature 1, one categorical draw per row); score =
 * forward to the per-token log-probs of all T-1 next tokens; train = forward (log-probs and
 * values) + backward of random upstream gradients into the flat gradient buffer, no optimizer
 * step. Inputs come from a seeded generator.
 */
final class EngineBench {
  private final CausalLm model;
  private final String modelName;
  private final long flopParams;
  private final int repeats;
  private final int warmup;
  private final long seed;
  private final double gemmGflops;
  private final Json common = new Json();
  private final long plannedResident; // bytes: RSS before the model + the model as planned
  private long plannedPeak;

  /**
   * @param plannedResident the resident bytes expected with the model loaded: the process's RSS
   *                        before it was built plus the base and trainable weights as the memory
   *                        plan sizes them; each line then compares the plan of what it
   *                        allocated with the measured peak RSS
   */
  EngineBench(CausalLm model, String modelName, BaseDtype baseDtype, long flopParams, int repeats,
      int warmup, long seed, double gemmGflops, long plannedResident) {
    this.model = model;
    this.modelName = modelName;
    this.flopParams = flopParams;
    this.repeats = repeats;
    this.warmup = warmup;
    this.seed = seed;
    this.gemmGflops = gemmGflops;
    this.plannedResident = plannedResident;
    this.plannedPeak = plannedResident;
    LoraSpec lora = model.lora();
    common.put("device", model.onDevice() ? "cuda" : "cpu").put("base_dtype", baseDtype.key()).put("lora_rank", lora == null ? 0 : lora.rank())
        .put("trainable_params", model.params().layout().size());
  }

  /** The fields every line of this model carries (base dtype, LoRA rank, trainable parameters). */
  Json tag(Json line) {
    return line.putAll(common);
  }

  /**
   * Records that a bench holds {@code bytes} (as planned) on top of the model, and puts the
   * planned peak beside the measured one.
   */
  private Json planned(Json line, long bytes) {
    plannedPeak = Math.max(plannedPeak, plannedResident + bytes);
    double peak = MachineGauges.peakRssMiB();
    return line.put("plan_peak_mib", plannedPeak / MIB).put("plan_error", plannedPeak / MIB / peak - 1)
        .put("heap_committed_mib", MachineGauges.heapCommittedMiB());
  }

  Json generate(int batch, int prompt, int newTokens) {
    List<int[]> prompts = randomPrompts(batch, prompt);
    double[] seconds;
    try (Generator gen = new Generator(model, batch, prompt + newTokens, SamplingParams.defaults(),
        MachineGauges.threads())) {
      seconds = time(i -> gen.generate(prompts, newTokens, seed + i, 0, new int[0]));
    }
    long flopTokens = (long) prompt + newTokens - 1;
    long cache = KvCache.plannedBytes(model.config(), model.dataType(), batch, prompt + newTokens);
    return planned(result("generate", batch, seconds, (long) batch * newTokens,
        2.0 * flopParams * batch * flopTokens)
        .put("prompt", prompt).put("new", newTokens).put("flop_tokens", flopTokens)
        .put("flop_formula", "2*flop_params*batch*flop_tokens/seconds_median"), cache);
  }

  Json score(int batch, int seq) {
    TokenBatch tokens = TokenBatch.of(randomIds(batch, seq));
    Workspace ws = model.newWorkspace(batch, seq, false, false);
    ForwardOptions opt = ForwardOptions.logprobs(0, seq);
    double[] seconds = time(i -> model.forward(ws, tokens, opt));
    long[] planned = Workspace.plannedBytes(model.config(), model.dataType(), batch, seq, false, false, false);
    return planned(result("score", batch, seconds, (long) batch * seq, 2.0 * flopParams * batch * seq)
        .put("seq", seq).put("flop_formula", "2*flop_params*batch*seq/seconds_median"), planned[0] + planned[1]);
  }

  Json train(int batch, int seq) {
    TokenBatch tokens = TokenBatch.of(randomIds(batch, seq));
    Workspace ws = model.newWorkspace(batch, seq, true, false);
    ForwardOptions opt = ForwardOptions.logprobsAndValues(0, seq);
    INDArray dLogp = Nd4j.rand(DataType.FLOAT, batch, seq - 1).subi(0.5).divi(batch * seq);
    INDArray dValues = Nd4j.rand(DataType.FLOAT, batch, seq).subi(0.5).divi(batch * seq);
    model.grads(); // allocate outside the timing
    // Gradients are cleared before each call, outside the timing (torch_peer.py sets them to None
    // outside its timing too); backward accumulates into them.
    double[] seconds = time(model::zeroGrad, i -> {
      model.forward(ws, tokens, opt);
      model.backward(ws, dLogp, null, dValues);
    });
    long[] planned = Workspace.plannedBytes(model.config(), model.dataType(), batch, seq, true, false, false);
    long grads = model.params().layout().size() * model.dataType().width();
    return planned(result("train", batch, seconds, (long) batch * seq, 6.0 * flopParams * batch * seq)
        .put("seq", seq).put("flop_formula", "6*flop_params*batch*seq/seconds_median"), planned[0] + planned[1] + grads);
  }

  /**
   * Memory of a long generation: one full-length warm-up call, then a measured call of {@code newTokens} per row; the resident set (heap and ND4J's off-heap buffers) before
   * and after shows that decoding allocates nothing per token.
   */
  Json memory(int batch, int prompt, int newTokens) {
    ModelConfig cfg = model.config();
    int total = Math.min(cfg.maxPositions(), prompt + newTokens);
    int steps = total - prompt;
    List<int[]> prompts = randomPrompts(batch, prompt);
    try (Generator gen = new Generator(model, batch, total, SamplingParams.defaults(), MachineGauges.threads())) {
      // Warm-up of the same length: allocates the cache, lets the JIT compile every path and
      // the heap reach its working size, so the measured call shows steady-state growth only.
      gen.generate(prompts, steps, seed, 0, new int[0]);
      System.gc();
      double rssBefore = MachineGauges.rssMiB();
      long t0 = System.nanoTime();
      gen.generate(prompts, steps, seed + 1, 0, new int[0]);
      double s = (System.nanoTime() - t0) / 1e9;
      System.gc();
      double rssAfter = MachineGauges.rssMiB();
      return tag(new Json()).put("bench", "memory").put("model", modelName)
          .put("arch", cfg.arch().name().toLowerCase(Locale.ROOT))
          .put("batch", batch).put("prompt", prompt).put("new", steps)
          .put("seconds", s).put("tokens_per_s", batch * steps / s)
          .put("rss_mib_before", rssBefore).put("rss_mib_after", rssAfter)
          .put("rss_growth_bytes_per_token",
              (rssAfter - rssBefore) * 1024 * 1024 / ((double) batch * steps))
          .put("peak_rss_mib", MachineGauges.peakRssMiB())
          .put("heap_used_mib", MachineGauges.heapUsedMiB());
    }
  }

  private static final double MIB = 1024.0 * 1024;

  private interface Call {
    void run(int repeat) throws RuntimeException;
  }

  private double[] time(Call call) {
    return time(() -> { }, call);
  }

  /** Runs {@code untimed} before every call, outside the measured span. */
  private double[] time(Runnable untimed, Call call) {
    for (int i = 0; i < warmup; i++) {
      untimed.run();
      call.run(-1 - i);
    }
    double[] s = new double[repeats];
    for (int i = 0; i < repeats; i++) {
      untimed.run();
      long t0 = System.nanoTime();
      call.run(i);
      s[i] = (System.nanoTime() - t0) / 1e9;
    }
    return s;
  }

  private Json result(String bench, int batch, double[] seconds, long tokens, double flops) {
    double[] sorted = BenchCommand.sortedCopy(seconds);
    double median = BenchCommand.median(sorted);
    ModelConfig cfg = model.config();
    return tag(new Json().put("bench", bench).put("model", modelName)
        .put("arch", cfg.arch().name().toLowerCase(Locale.ROOT))
        .put("params", ParamLayout.of(cfg).languageModelSize()).put("batch", batch))
        .put("tokens", tokens).put("seconds_median", median).put("seconds_min", sorted[0])
        .put("seconds_max", sorted[sorted.length - 1]).put("tokens_per_s", tokens / median)
        .put("gflops", flops / median / 1e9).put("flop_params", flopParams)
        .put("gemm_gflops", gemmGflops).put("gflops_over_gemm", flops / median / 1e9 / gemmGflops)
        .put("repeats", repeats).put("warmup", warmup).put("threads", MachineGauges.threads())
        .put("omp_wait_policy", System.getenv().getOrDefault("OMP_WAIT_POLICY", ""))
        .put("peak_rss_mib", MachineGauges.peakRssMiB());
  }

  private List<int[]> randomPrompts(int batch, int len) {
    List<int[]> out = new ArrayList<>(batch);
    for (int[] row : randomIds(batch, len)) {
      out.add(row);
    }
    return out;
  }

  private int[][] randomIds(int batch, int len) {
    SplittableRandom rng = new SplittableRandom(seed);
    int vocab = model.config().vocabSize();
    int[][] ids = new int[batch][len];
    for (int b = 0; b < batch; b++) {
      for (int t = 0; t < len; t++) {
        ids[b][t] = rng.nextInt(vocab);
      }
    }
    return ids;
  }
}
