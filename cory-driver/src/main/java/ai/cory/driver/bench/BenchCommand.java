package ai.cory.driver.bench;

import ai.cory.common.model.CausalLm;
import ai.cory.common.model.ModelConfig;
import ai.cory.common.model.ParamLayout;
import ai.cory.driver.cli.Args;
import ai.cory.driver.cli.Command;
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
  static final List<String> ALL = List.of("generate", "score", "train", "memory");

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
        "usage: bin/cory bench [--model gpt2-small|demo|DIR_OR_URI] [--only generate,score,train,memory]",
        "                      [--batch B] [--prompt P] [--new N] [--seq T] [--repeats R] [--warmup W]",
        "                      [--memory-tokens N] [--seed S]",
        "  --model          gpt2-small (default: 12 layers, 768 wide, vocab 50257, random weights),",
        "                   demo, or a Hugging Face directory / Hadoop URI",
        "  --only           comma-separated subset (default: generate,score,train,memory)",
        "  --batch          rows (default: generate 64, score/train 8, memory 8)",
        "  --prompt, --new  generate: prompt and new tokens per row (default 8, 32)",
        "  --seq            score/train: sequence length (default 128)",
        "  --repeats        timed calls per bench, median reported (default 5; 3 for gpt2-small)",
        "  --warmup         untimed calls first (default 1)",
        "  --memory-tokens  memory: tokens generated per row in the long run (default 512)",
        "One JSON object per line: bench, model, arch, params, shapes, seconds_median/min/max,",
        "tokens_per_s, gflops (2 or 6 x flop_params x flop_tokens / s), flop_params, gemm_gflops",
        "(raw float32 GEMM rate probed first), threads, peak_rss_mib.");
  }

  @Override
  public int run(String[] argv, PrintStream out) throws Exception {
    Args args = Args.parse(argv, Set.of("model", "only", "batch", "prompt", "new", "seq",
        "repeats", "warmup", "memory-tokens", "seed"), Set.of());
    if (!args.positional().isEmpty()) {
      throw new Args.UsageException("unexpected argument '" + args.positional().get(0) + "'");
    }
    Set<String> only = new LinkedHashSet<>();
    for (String s : args.string("only", String.join(",", ALL)).split(",")) {
      String b = s.trim();
      if (!ALL.contains(b)) {
        throw new Args.UsageException("--only: unknown bench '" + b + "'; choose from " + ALL);
      }
      only.add(b);
    }
    String modelArg = args.string("model", GPT2_SMALL);
    CausalLm model;
    LoadedModel loaded = null;
    if (GPT2_SMALL.equals(modelArg)) {
      model = CausalLm.random(ModelConfig.gpt2Small(), DataType.FLOAT, args.longValue("seed", 0));
    } else {
      loaded = LoadedModel.load(modelArg);
      model = loaded.model();
    }
    try {
      int repeats = args.integer("repeats", GPT2_SMALL.equals(modelArg) ? 3 : 5);
      int warmup = args.integer("warmup", 1);
      if (repeats < 1 || warmup < 0) {
        throw new Args.UsageException("--repeats must be >= 1 and --warmup >= 0");
      }
      EngineBench bench = new EngineBench(model, modelArg, flopParams(model.config()),
          repeats, warmup, args.longValue("seed", 0), MachineGauges.gemmGflops(0.5));
      for (String b : only) {
        Json line = switch (b) {
          case "generate" -> bench.generate(args.integer("batch", 64), args.integer("prompt", 8),
              args.integer("new", 32));
          case "score" -> bench.score(args.integer("batch", 8), args.integer("seq", 128));
          case "train" -> bench.train(args.integer("batch", 8), args.integer("seq", 128));
          case "memory" -> bench.memory(args.integer("batch", 8), args.integer("prompt", 8),
              args.integer("memory-tokens", 512));
          default -> throw new IllegalStateException(b);
        };
        out.println(line);
        out.flush();
      }
    } finally {
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
