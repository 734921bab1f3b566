package ai.cory.driver.train;

import ai.cory.common.config.EvalSettings;
import ai.cory.common.config.Settings;
import ai.cory.common.io.FileSourceResolver;
import ai.cory.common.metrics.MetricNames;
import ai.cory.common.sampling.CounterRng;
import ai.cory.common.task.TaskPrompt;
import ai.cory.common.tokenizer.Tokenizer;
import ai.cory.driver.eval.Evaluation;
import ai.cory.driver.spark.TaskData;
import ai.cory.worker.eval.EvalSampler;
import ai.cory.worker.eval.HeldOutRequest;
import ai.cory.worker.spark.TaskReport;
import ai.cory.worker.spark.WorkerAssets;
import com.typesafe.config.ConfigUtil;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The driver's half of {@code cory.eval}: reads the held-out prompts once, hands the workers the
 * {@link HeldOutRequest} in the iterations that evaluate, and turns their rows into
 * {@code eval/<agent>/<measure>} metrics with {@code bin/cory eval}'s scoring
 * ({@link Evaluation#score}, {@link Evaluation#metrics}).
 */
final class HeldOutEvaluation {
  /** Rows per micro-batch (fixed, so the tokens do not depend on W). */
  static final int MICRO_BATCH = 16;
  /** Salt of the held-out sampling seed, derived from the run seed. */
  private static final long SEED_STREAM = 0x48_45_4C_44L;

  private final Settings heldOut;
  private final List<TaskPrompt> prompts;
  private final HeldOutRequest request;
  private final FileSourceResolver files;

  private HeldOutEvaluation(Settings heldOut, List<TaskPrompt> prompts, HeldOutRequest request,
      FileSourceResolver files) {
    this.heldOut = heldOut;
    this.prompts = prompts;
    this.request = request;
    this.files = files;
  }

  /** The held-out evaluation of a run, or null when {@code cory.eval.every} is 0. */
  static HeldOutEvaluation prepare(Settings settings, Tokenizer tokenizer, FileSourceResolver files, int context,
      PrintStream progress) throws IOException {
    EvalSettings eval = settings.eval();
    if (eval.every() == 0) {
      return null;
    }
    Settings heldOut = settingsOf(settings);
    int maxNewTokens = settings.generation().maxNewTokens();
    List<TaskPrompt> prompts = Evaluation.fitting(TaskData.read(heldOut, tokenizer, files), context - maxNewTokens,
        progress);
    HeldOutRequest request = new HeldOutRequest(Evaluation.batches(prompts, 1, MICRO_BATCH), maxNewTokens,
        CounterRng.deriveSeed(settings.run().seed(), SEED_STREAM));
    WorkerAssets.reward(settings, files); // a reward that cannot be built fails now, not after iteration N
    progress.printf(Locale.ROOT, "held-out evaluation every %d iteration(s) and after the last: %d prompt(s) of %s%n",
        eval.every(), prompts.size(), heldOut.task().data());
    return new HeldOutEvaluation(heldOut, prompts, request, files);
  }

  /** The run's settings with the held-out data in {@code cory.task} (test split, the prompt limit). */
  static Settings settingsOf(Settings settings) {
    EvalSettings eval = settings.eval();
    StringBuilder hocon = new StringBuilder(settings.render()).append('\n');
    hocon.append("cory.task.data = ").append(ConfigUtil.quoteString(eval.dataFor(settings.task()))).append('\n');
    hocon.append("cory.task.imdb.split = test\n");
    hocon.append("cory.task.max-examples = ").append(eval.prompts()).append('\n');
    return Settings.parse(hocon.toString());
  }

  HeldOutRequest request() {
    return request;
  }

  /** The measures of every agent from the W reports' rows, as {@code eval/<agent>/<measure>}. */
  Map<String, Double> metrics(List<TaskReport> reports) {
    Map<String, List<EvalSampler.Result>> byAgent = new LinkedHashMap<>();
    for (TaskReport t : reports) {
      if (t.heldOut() == null) {
        throw new IllegalStateException("the held-out evaluation was asked for but " + t.where() + " returned none");
      }
      t.heldOut().forEach((agent, rows) -> byAgent.computeIfAbsent(agent, k -> new ArrayList<>()).addAll(rows));
    }
    Map<String, Double> out = new LinkedHashMap<>();
    for (Map.Entry<String, List<EvalSampler.Result>> e : new TreeMap<>(byAgent).entrySet()) {
      List<EvalSampler.Result> rows = e.getValue();
      rows.sort(Comparator.comparingLong(EvalSampler.Result::globalRow));
      if (rows.size() != prompts.size()) {
        throw new IllegalStateException("held-out evaluation of agent " + e.getKey() + ": " + rows.size()
            + " rows for " + prompts.size() + " prompts");
      }
      double[] scores = Evaluation.score(heldOut, prompts, rows, 1, files);
      Evaluation.metrics(heldOut.task(), prompts.size(), 1, List.of(1), rows, scores, true)
          .forEach((name, v) -> out.put(MetricNames.ofEval(e.getKey(), name), v));
    }
    return out;
  }
}
