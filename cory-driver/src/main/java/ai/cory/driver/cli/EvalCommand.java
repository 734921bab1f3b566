package ai.cory.driver.cli;

import ai.cory.common.config.Settings;
import ai.cory.driver.eval.Evaluation;
import ai.cory.driver.train.DefaultRun;
import ai.cory.worker.eval.EvalSampler;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.ConfigUtil;
import java.io.BufferedWriter;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code bin/cory eval --model DIR_OR_URI --task gsm8k|imdb [...]}: held-out evaluation
 * ({@link Evaluation}) of an exported agent or a base model, on {@code cory.workers} executors.
 */
public final class EvalCommand implements Command {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Override
  public String name() {
    return "eval";
  }

  @Override
  public String summary() {
    return "held-out evaluation: GSM8K pass@k, IMDB reward and KL, distinct-n, self-BLEU";
  }

  @Override
  public String usage() {
    return String.join("\n",
        "usage: bin/cory eval --model DIR_OR_URI --task gsm8k|imdb [--config FILE] [--data FILE] [--limit N]",
        "                     [--k 1,8] [--workers W] [--reference DIR|none] [--max-new-tokens N]",
        "                     [--micro-batch R] [--out DIR] [path=value ...]",
        "  --model DIR     a Hugging Face model directory (an exported agent such as RUN/final/A, a",
        "                  LoRA agent's RUN/final/A-merged, a checkpoint's checkpoints/iter-N/agent-A,",
        "                  or a base model), local path or Hadoop URI",
        "  --task T        gsm8k: pass@k on the test split with the one-shot prompt, exact match of",
        "                  the last number; imdb: the task reward and the KL to the reference on the",
        "                  test split's queries",
        "  --config FILE   sampling, reward and runtime settings (default: RUN/config.conf when the",
        "                  model is RUN/final/AGENT, else " + DefaultRun.SHARED_CONFIG + ")",
        "  --data FILE     held-out data (default: imdb the config's file, split test; gsm8k",
        "                  test.jsonl beside the config's GSM8K file, else " + DefaultRun.SHARED_DIR
            + "/assets/data/gsm8k/test.jsonl)",
        "  --limit N       the first N prompts (default all)",
        "  --k LIST        pass@k for each k; n = max k samples per prompt (default 1; imdb: samples)",
        "  --workers W     executors sampling in parallel (cory.workers; local[W] unless spark-submit)",
        "  --reference D   the KL's reference (default: imdb the config's cory.model.path, gsm8k none)",
        "  --max-new-tokens N  most tokens per response (default cory.generation.max-new-tokens)",
        "  --micro-batch R rows sampled as one batch (default 16); the numbers do not depend on W",
        "  --out DIR       also write eval.json (the measures) and eval_samples.jsonl (every response)",
        "Sampling follows cory.generation (temperature, top-k, top-p, repetition penalty), seeded by",
        "cory.run.seed. Prints one 'name value' line per measure.");
  }

  @Override
  public int run(String[] argv, PrintStream out) throws Exception {
    Args args = Args.parse(argv, Set.of("model", "task", "config", "data", "limit", "k", "workers", "reference",
        "max-new-tokens", "micro-batch", "out"), Set.of());
    String model = args.required("model");
    String task = args.required("task");
    if (!task.equals("gsm8k") && !task.equals("imdb")) {
      throw new Args.UsageException("--task: gsm8k or imdb, got '" + task + "'");
    }
    Path config = config(args, model);
    List<String> overrides = new ArrayList<>(args.positional());
    for (String p : overrides) {
      if (!p.contains("=")) {
        throw new Args.UsageException("expected path=value, got '" + p + "'");
      }
    }
    Settings base = Settings.load(config, overrides);
    overrides.add("task.type=" + task);
    overrides.add("task.data=" + ConfigUtil.quoteString(data(args, task, base)));
    if (task.equals("imdb")) {
      overrides.add("task.imdb.split=test");
    }
    overrides.add("task.max-examples=" + args.integer("limit", 0));
    if (args.has("workers")) {
      overrides.add("workers=" + args.integer("workers", 1));
    }
    Settings settings = Settings.load(config, overrides);
    List<Integer> ks = new ArrayList<>();
    for (String k : args.string("k", "1").split(",")) {
      try {
        ks.add(Integer.parseInt(k.trim()));
      } catch (NumberFormatException e) {
        throw new Args.UsageException("--k: not an integer: '" + k + "'");
      }
      if (ks.get(ks.size() - 1) < 1) {
        throw new Args.UsageException("--k: each k must be >= 1");
      }
    }
    String reference = args.string("reference", task.equals("imdb") ? settings.model().path() : "none");
    int microBatch = args.integer("micro-batch", 16);
    if (microBatch < 1) {
      throw new Args.UsageException("--micro-batch must be >= 1");
    }
    Evaluation.Outcome outcome = Evaluation.run(new Evaluation.Request(settings, model,
        reference.equals("none") ? null : reference, ks, args.integer("max-new-tokens",
        settings.generation().maxNewTokens()), microBatch), out);
    for (Map.Entry<String, Double> e : outcome.metrics().entrySet()) {
      out.printf(Locale.ROOT, "%-20s %s%n", e.getKey(), format(e.getValue()));
    }
    if (args.has("out")) {
      write(Path.of(args.string("out", null)), model, task, outcome, out);
    }
    return 0;
  }

  /** {@code --config}, else the run's config beside {@code RUN/final/AGENT}, else the default run's. */
  private static Path config(Args args, String model) throws Exception {
    if (args.has("config")) {
      return Path.of(args.string("config", null));
    }
    Path runConfig = Path.of(model).toAbsolutePath().normalize().getParent();
    if (runConfig != null && runConfig.getFileName() != null && runConfig.getFileName().toString().equals("final")
        && Files.isRegularFile(runConfig.resolveSibling("config.conf"))) {
      return runConfig.resolveSibling("config.conf");
    }
    DefaultRun preset = DefaultRun.resolve(Path.of(""), null);
    if (!preset.config().endsWith(DefaultRun.SHARED_CONFIG)) {
      throw new Args.UsageException("give --config: no run config beside the model and no " + DefaultRun.SHARED_DIR);
    }
    return preset.config();
  }

  private static String data(Args args, String task, Settings base) {
    if (args.has("data")) {
      return args.string("data", null);
    }
    String configured = base.task().data();
    if (task.equals("imdb")) {
      if (!base.task().type().name().equals("IMDB")) {
        throw new Args.UsageException("give --data: the config's task is not IMDB");
      }
      return configured;
    }
    if (base.task().type().name().equals("GSM8K") && configured.endsWith("train.jsonl")) {
      return configured.substring(0, configured.length() - "train.jsonl".length()) + "test.jsonl";
    }
    Path shared = Path.of(DefaultRun.SHARED_DIR, "assets", "data", "gsm8k", "test.jsonl");
    if (Files.isRegularFile(shared)) {
      return shared.toString();
    }
    throw new Args.UsageException("give --data: the GSM8K test split (test.jsonl)");
  }

  private static String format(double v) {
    return v == Math.rint(v) && Math.abs(v) < 1e15 ? String.valueOf((long) v) : String.format(Locale.ROOT, "%.4f", v);
  }

  private static void write(Path dir, String model, String task, Evaluation.Outcome outcome, PrintStream out)
      throws Exception {
    Files.createDirectories(dir);
    ObjectNode summary = JSON.createObjectNode();
    summary.put("model", model);
    summary.put("task", task);
    outcome.metrics().forEach((k, v) -> {
      if (Double.isFinite(v)) {
        summary.put(k, v);
      } else {
        summary.putNull(k);
      }
    });
    Files.writeString(dir.resolve("eval.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(summary)
        + "\n", StandardCharsets.UTF_8);
    int n = outcome.metrics().get("samples_per_prompt").intValue();
    try (BufferedWriter w = Files.newBufferedWriter(dir.resolve("eval_samples.jsonl"), StandardCharsets.UTF_8)) {
      for (int i = 0; i < outcome.rows().size(); i++) {
        EvalSampler.Result r = outcome.rows().get(i);
        ObjectNode o = JSON.createObjectNode();
        o.put("prompt", r.globalRow() / n);
        o.put("sample", r.globalRow() % n);
        o.put("query", outcome.prompts().get((int) (r.globalRow() / n)).query());
        o.put("response", r.text());
        o.put("score", outcome.scores()[i]);
        w.write(JSON.writeValueAsString(o));
        w.newLine();
      }
    }
    out.println("eval: wrote " + dir.resolve("eval.json") + " and " + dir.resolve("eval_samples.jsonl"));
  }
}
