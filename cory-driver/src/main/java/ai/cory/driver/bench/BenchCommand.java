package ai.cory.driver.bench;

import ai.cory.common.cuda.DeviceRuntime;
import ai.cory.common.model.BaseDtype;
import ai.cory.common.model.CausalLm;
import ai.cory.common.model.FrozenBase;
import ai.cory.common.model.LoraSpec;
import ai.cory.common.model.ModelConfig;
import ai.cory.common.model.ParamLayout;
import ai.cory.driver.cli.Args;
import ai.cory.driver.cli.Command;
import ai.cory.driver.cli.DeviceOption;
import ai.cory.driver.cli.LoadedModel;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * {@code bin/cory bench}: throughput of the three workloads of a PPO iteration (generation,
 * scoring, training) on one model, as JSON lines comparable with
 * {@code shared/tools/bench/torch_peer.py} (same shapes, FLOP formulas and GEMM probe).
 */
public final class BenchCommand implements Command {
  /** Preset name of the GPT-2-small-shaped random model. */
  static final String GPT2_SMALL = "gpt2-small";
  /** Preset name of the Llama-2-7B-shaped random model (weights generated straight into the base dtype). */
  static final String LLAMA2_7B = "llama2-7b";
  static final List<String> ALL = List.of("load", "generate", "score", "train", "memory");
  static final List<String> DEFAULT = List.of("generate", "score", "train", "memory");

  @Override
  public String name() {
    return "bench";
  }

  @Override
  public String summary() {
    return "time generation, scoring and training (JSON lines; compare with torch_peer.py)";
  }

  @Override
  public String usage() {
    return String.join("\n",
        "usage: bin/cory bench [--model gpt2-small|llama2-7b|demo|DIR_OR_URI] [--only load,generate,score,train,memory]",
        "                      [--base-dtype float32|bf16|fp16|int8|nf4|nf4-dq] [--lora-rank R] [--lora-alpha A]",
        "                      [--batch B] [--prompt P] [--new N] [--seq T] [--repeats R] [--warmup W]",
        "                      [--memory-tokens N] [--seed S] [--device cpu|cuda|auto]",
        "  --model          gpt2-small (default: 12 layers, 768 wide, vocab 50257, random weights),",
        "                   llama2-7b (Llama-2-7B's shape, random weights generated straight into",
        "                   --base-dtype), demo, or a Hugging Face directory / Hadoop URI",
        "  --only           comma-separated subset (default: generate,score,train,memory);",
        "                   load reports the time to build or load (and quantise) the model",
        "  --base-dtype     storage of the frozen base's projections (default float32; others need LoRA)",
        "  --lora-rank      > 0: time a LoRA agent (adapters on every projection) over the base",
        "  --lora-alpha     LoRA alpha (default 16)",
        "  --batch          rows (default: generate 64, score/train 8, memory 8; llama2-7b: 2, 1, 1)",
        "  --prompt, --new  generate: prompt and new tokens per row (default 8, 32; llama2-7b: 8, 8)",
        "  --seq            score/train: sequence length (default 128; llama2-7b: 256)",
        "  --repeats        timed calls per bench, median reported (default 5; gpt2-small 3, llama2-7b 1)",
        "  --warmup         untimed calls first (default 1; llama2-7b 0)",
        "  --memory-tokens  memory: tokens generated per row in the long run (default 512)",
        "  --device         cpu (default), cuda or auto: where the engine runs (bin/cory doctor shows it)",
        "One JSON object per line: bench, model, arch, params, shapes, seconds_median/min/max,",
        "tokens_per_s, gflops (2 or 6 x flop_params x flop_tokens / s), flop_params, gemm_gflops",
        "(raw float32 GEMM rate probed first), threads, base_dtype, lora_rank, trainable_params,",
        "peak_rss_mib.");
  }

  @Override
  public int run(String[] argv, PrintStream out) throws Exception {
    Args args = Args.parse(argv, Set.of("model", "only", "batch", "prompt", "new", "seq",
        "repeats", "warmup", "memory-tokens", "seed", "base-dtype", "lora-rank", "lora-alpha", "device"), Set.of());
    if (!args.positional().isEmpty()) {
      throw new Args.UsageException("unexpected argument '" + args.positional().get(0) + "'");
    }
    Set<String> only = new LinkedHashSet<>();
    for (String s : args.string("only", String.join(",", DEFAULT)).split(",")) {
      String b = s.trim();
      if (!ALL.contains(b)) {
        throw new Args.UsageException("--only: unknown bench '" + b + "'; choose from " + ALL);
      }
      only.add(b);
    }
    String modelArg = args.string("model", GPT2_SMALL);
    BaseDtype baseDtype;
    try {
      baseDtype = BaseDtype.parse(args.string("base-dtype", BaseDtype.FLOAT32.key()));
    } catch (IllegalArgumentException e) {
      throw new Args.UsageException("--base-dtype: " + e.getMessage());
    }
    int loraRank = args.integer("lora-rank", 0);
    if (loraRank < 0 || baseDtype != BaseDtype.FLOAT32 && loraRank == 0) {
      throw new Args.UsageException(loraRank < 0 ? "--lora-rank must be >= 0"
          : "--base-dtype " + baseDtype + " is a frozen base: give --lora-rank R > 0");
    }
    long seed = args.longValue("seed", 0);
    DeviceRuntime gpu = DeviceOption.open(args); // null: the CPU; closed with the model below
    // the GEMM probe first: it loads ND4J and OpenBLAS and starts their threads, so the resident
    // set measured next is the runtime the model's planned memory comes on top of
    double gemm = only.equals(Set.of("load")) ? 0 : MachineGauges.gemmGflops(0.5);
    double rssBefore = MachineGauges.rssMiB();
    long t0 = System.nanoTime();
    CausalLm model;
    LoadedModel loaded = null;
    if (GPT2_SMALL.equals(modelArg) || LLAMA2_7B.equals(modelArg)) {
      ModelConfig cfg = GPT2_SMALL.equals(modelArg) ? ModelConfig.gpt2Small() : ModelConfig.llama2_7b();
      model = FrozenBase.random(cfg, DataType.FLOAT, baseDtype, seed);
    } else {
      loaded = LoadedModel.load(modelArg, baseDtype);
      model = loaded.model();
    }
    CausalLm base = model;
    if (loraRank > 0) {
      model = base.withAdapters(LoraSpec.of(loraRank, args.real("lora-alpha", 16), List.of(),
          base.config().arch()), seed);
    }
    if (gpu != null) {
      model.placeOn(gpu.accelerator()); // a LoRA agent's base goes up first
    }
    double loadSeconds = (System.nanoTime() - t0) / 1e9;
    try {
      boolean preset = loaded == null;
      boolean seven = LLAMA2_7B.equals(modelArg); // one timed call of each, on the shapes
      int repeats = args.integer("repeats", seven ? 1 : preset ? 3 : 5);
      int warmup = args.integer("warmup", seven ? 0 : 1);
      if (repeats < 1 || warmup < 0) {
        throw new Args.UsageException("--repeats must be >= 1 and --warmup >= 0");
      }
      long planned = (long) (rssBefore * (1 << 20)) + FrozenBase.plannedBytes(base.config(), base.dataType(), baseDtype)
          + (loraRank > 0 ? model.params().layout().size() * model.dataType().width() : 0);
      EngineBench bench = new EngineBench(model, modelArg, baseDtype, flopParams(model.config()),
          repeats, warmup, seed, gemm, planned);
      for (String b : only) {
        Json line = switch (b) {
          case "load" -> bench.tag(new Json().put("bench", "load").put("model", modelArg)
              .put("seconds", loadSeconds).put("base_bytes", FrozenBase.bytes(base))
              .put("planned_base_bytes", FrozenBase.plannedBytes(base.config(), base.dataType(), baseDtype))
              .put("peak_rss_mib", MachineGauges.peakRssMiB()));
          case "generate" -> bench.generate(args.integer("batch", seven ? 2 : 64), args.integer("prompt", 8),
              args.integer("new", seven ? 8 : 32));
          case "score" -> bench.score(args.integer("batch", seven ? 1 : 8), args.integer("seq", seven ? 256 : 128));
          case "train" -> bench.train(args.integer("batch", seven ? 1 : 8), args.integer("seq", seven ? 256 : 128));
          case "memory" -> bench.memory(args.integer("batch", 8), args.integer("prompt", 8),
              args.integer("memory-tokens", 512));
          default -> throw new IllegalStateException(b);
        };
        out.println(line);
        out.flush();
      }
    } finally {
      if (gpu != null) {
        gpu.close();
      }
      if (loaded != null) {
        loaded.close();
      }
    }
    return 0;
  }

  /**
   * Parameters that do work per token, as torch_peer.py counts them: everything except the
   * token and position embeddings, an untied lm head and the value head (so tied and untied
   * models get the same count; gpt2-small: 85,056,000).
   */
  static long flopParams(ModelConfig cfg) {
    ParamLayout layout = ParamLayout.of(cfg);
    long n = 0;
    for (ParamLayout.Entry e : layout.entries()) {
      String name = e.name();
      boolean excluded = name.endsWith("wte.weight") || name.endsWith("wpe.weight")
          || name.endsWith("embed_tokens.weight") || name.equals("lm_head.weight")
          || name.startsWith("v_head.");
      if (!excluded) {
        n += e.length();
      }
    }
    return n;
  }

  static double[] sortedCopy(double[] xs) {
    double[] s = xs.clone();
    Arrays.sort(s);
    return s;
  }

  /** The median of an ascending array (the mean of the middle two for an even length). */
  static double median(double[] sorted) {
    int n = sorted.length;
    return n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  }
}
