package ai.cory.driver.eval;

import ai.cory.common.config.Settings;
import ai.cory.common.config.TaskSettings;
import ai.cory.common.eval.TextMetrics;
import ai.cory.common.io.FileSourceResolver;
import ai.cory.common.model.ModelConfig;
import ai.cory.common.model.ModelSource;
import ai.cory.common.reward.Gsm8kExactMatchReward;
import ai.cory.common.reward.RewardFunction;
import ai.cory.common.reward.RewardInput;
import ai.cory.common.task.TaskPrompt;
import ai.cory.common.tokenizer.Tokenizer;
import ai.cory.driver.spark.SparkSessions;
import ai.cory.driver.spark.TaskData;
import ai.cory.driver.spark.TrainingFailedException;
import ai.cory.worker.eval.EvalSampler;
import ai.cory.worker.spark.EvalFunction;
import ai.cory.worker.spark.WorkerAssets;
import ai.cory.worker.store.FileSources;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.spark.SparkConf;

/**
 * Held-out evaluation of a model, distributed over the executors like training: the driver
 * reads the held-out prompts, cuts {@code prompts x samples} rows into fixed micro-batches, and
 * {@code cory.workers} Spark tasks sample and score them ({@link EvalFunction}); the driver
 * scores the texts and computes the measures. The micro-batches do not depend on W, so W
 * executors give the numbers of one.
 *
 * <ul>
 *   <li>GSM8K: {@code pass@k} for each k asked (k samples of the n = max k drawn per question,
 *       the unbiased estimator of {@link TextMetrics#passAtK}), exact match of the last number
 *       as in training (CORY.md section 5);
 *   <li>IMDB: the task reward's mean and std, and the KL to the reference (the sampled estimate,
 *       sum over a response of log p - log q, mean over responses: TRL's {@code objective/kl});
 *   <li>both: collapse indicators, distinct-1/2, self-BLEU (over at most
 *       {@link #SELF_BLEU_MAX} responses) and the policy's mean next-token entropy.
 * </ul>
 */
public final class Evaluation {
  /** Responses self-BLEU compares (it is quadratic in their number). */
  public static final int SELF_BLEU_MAX = 400;

  /**
   * What to evaluate.
   *
   * @param settings     run settings with the held-out task in {@code cory.task} (type, data,
   *                     split, limit in {@code max-examples}), sampling, workers, seed
   * @param model        the evaluated model directory (path or URI)
   * @param reference    the KL's reference, or null for none
   * @param ks           the k of pass@k (GSM8K); n = max k samples per prompt
   * @param maxNewTokens most tokens per response
   * @param microBatch   rows sampled as one batch
   */
  public record Request(Settings settings, String model, String reference, List<Integer> ks, int maxNewTokens,
      int microBatch) {}

  /** The measures by name, in print order, and every sampled row. */
  public record Outcome(Map<String, Double> metrics, List<TaskPrompt> prompts, List<EvalSampler.Result> rows,
      double[] scores) {}

  private Evaluation() {}

  public static Outcome run(Request request, PrintStream progress) throws IOException {
    Settings settings = request.settings();
    SparkConf submitted = SparkSessions.submitted();
    FileSourceResolver files = FileSources.resolver(SparkSessions.hadoop(submitted));
    ModelSource model = ModelSource.of(request.model(), files);
    ModelConfig config = model.config();
    List<TaskPrompt> prompts;
    Tokenizer tokenizer = model.tokenizer();
    try {
      prompts = fitting(TaskData.read(settings, tokenizer, files), config.maxPositions() - request.maxNewTokens(),
          progress);
    } finally {
      WorkerAssets.close(tokenizer);
    }
    if (request.reference() != null) {
      ModelConfig ref = ModelSource.of(request.reference(), files).config(); // a missing reference fails here
      if (ref.vocabSize() != config.vocabSize()) {
        throw new IllegalArgumentException("--reference " + request.reference() + " has a vocabulary of "
            + ref.vocabSize() + " tokens, the model " + config.vocabSize());
      }
    }
    int n = request.ks().stream().max(Comparator.naturalOrder()).orElse(1);
    List<List<EvalSampler.Row>> batches = batches(prompts, n, request.microBatch());
    int workers = settings.runtime().workers();
    progress.printf(Locale.ROOT, "eval: %s on %d %s prompt(s) x %d sample(s) = %d rows, %d micro-batches on %d "
        + "worker(s)%n", request.model(), prompts.size(), settings.task().type().name().toLowerCase(Locale.ROOT), n,
        prompts.size() * n, batches.size(), workers);
    EvalFunction.Spec spec = new EvalFunction.Spec(request.model(), request.reference(), settings,
        request.maxNewTokens(), settings.run().seed());
    SparkSessions spark = SparkSessions.start(settings, submitted);
    List<EvalSampler.Result> rows;
    long t0 = System.nanoTime();
    try {
      spark.java().setJobGroup("cory-eval", "CORY held-out evaluation of " + request.model(), false);
      rows = new ArrayList<>(spark.java().parallelize(batches, workers).mapPartitions(new EvalFunction(spec))
          .collect());
    } catch (RuntimeException e) {
      throw new TrainingFailedException("the evaluation failed: " + TrainingFailedException.causes(e), e);
    } finally {
      spark.stopIfOwned();
    }
    rows.sort(Comparator.comparingLong(EvalSampler.Result::globalRow));
    progress.printf(Locale.ROOT, "eval: %d rows sampled and scored in %.1f s%n", rows.size(),
        (System.nanoTime() - t0) / 1e9);
    double[] scores = score(settings, prompts, rows, n, files);
    Map<String, Double> metrics = metrics(settings.task(), prompts.size(), n, request.ks(), rows, scores,
        request.reference() != null);
    return new Outcome(metrics, prompts, rows, scores);
  }

  /**
   * The prompts of at most {@code longest} tokens (a prompt must leave room for the response in
   * the model's context), renumbered; the others are counted on the console.
   */
  public static List<TaskPrompt> fitting(List<TaskPrompt> all, int longest, PrintStream progress) throws IOException {
    List<TaskPrompt> out = new ArrayList<>();
    for (TaskPrompt p : all) {
      if (p.promptTokens().length <= longest) {
        out.add(p);
      }
    }
    if (out.size() < all.size()) {
      progress.printf(Locale.ROOT, "eval: %d of %d prompt(s) left out: longer than %d tokens, the model's context "
          + "less the response's%n", all.size() - out.size(), all.size(), Math.max(0, longest));
    }
    if (out.isEmpty()) {
      throw new IOException("no prompt of " + all.size() + " fits the model's context with its response");
    }
    return out;
  }

  /** Row {@code p * n + s} is sample s of prompt p; cut into micro-batches of {@code size} rows. */
  public static List<List<EvalSampler.Row>> batches(List<TaskPrompt> prompts, int n, int size) {
    List<List<EvalSampler.Row>> out = new ArrayList<>();
    List<EvalSampler.Row> current = new ArrayList<>();
    for (int p = 0; p < prompts.size(); p++) {
      for (int s = 0; s < n; s++) {
        current.add(new EvalSampler.Row((long) p * n + s, prompts.get(p).promptTokens()));
        if (current.size() == size) {
          out.add(current);
          current = new ArrayList<>();
        }
      }
    }
    if (!current.isEmpty()) {
      out.add(current);
    }
    return out;
  }

  /** The task score of every row: GSM8K exact match (0/1), IMDB the configured reward. */
  public static double[] score(Settings settings, List<TaskPrompt> prompts, List<EvalSampler.Result> rows, int n,
      FileSourceResolver files) {
    List<RewardInput> inputs = new ArrayList<>(rows.size());
    for (EvalSampler.Result r : rows) {
      TaskPrompt p = prompts.get((int) (r.globalRow() / n));
      inputs.add(new RewardInput(p.query(), r.text(), p.groundTruth()));
    }
    RewardFunction reward = switch (settings.task().type()) {
      case GSM8K -> new Gsm8kExactMatchReward();
      case IMDB -> WorkerAssets.reward(settings, files);
    };
    return reward.score(inputs);
  }

  /** The measures of a scored evaluation, by name. */
  public static Map<String, Double> metrics(TaskSettings task, int prompts, int n, List<Integer> ks,
      List<EvalSampler.Result> rows, double[] scores, boolean kl) {
    Map<String, Double> m = new LinkedHashMap<>();
    m.put("prompts", (double) prompts);
    m.put("samples_per_prompt", (double) n);
    switch (task.type()) {
      case GSM8K -> {
        for (int k : ks) {
          double sum = 0;
          for (int p = 0; p < prompts; p++) {
            int correct = 0;
            for (int s = 0; s < n; s++) {
              correct += scores[p * n + s] > 0.5 ? 1 : 0;
            }
            sum += TextMetrics.passAtK(n, correct, k);
          }
          m.put("pass@" + k, sum / prompts);
        }
      }
      case IMDB -> {
        double mean = 0;
        for (double s : scores) {
          mean += s / scores.length;
        }
        double ss = 0;
        for (double s : scores) {
          ss += (s - mean) * (s - mean);
        }
        m.put("reward_mean", mean);
        m.put("reward_std", scores.length > 1 ? Math.sqrt(ss / (scores.length - 1)) : 0.0);
      }
    }
    if (kl) {
      m.put("kl", rows.stream().mapToDouble(r -> r.logp() - r.refLogp()).average().orElse(Double.NaN));
    }
    long tokens = rows.stream().mapToLong(r -> r.response().length).sum();
    m.put("response_len_mean", (double) tokens / rows.size());
    m.put("entropy_per_token", tokens == 0 ? Double.NaN : rows.stream().mapToDouble(EvalSampler.Result::entropy).sum()
        / tokens);
    List<List<String>> words = rows.stream().map(r -> TextMetrics.words(r.text())).toList();
    m.put("distinct-1", TextMetrics.distinctN(words, 1));
    m.put("distinct-2", TextMetrics.distinctN(words, 2));
    m.put("self-bleu", TextMetrics.selfBleu(words.subList(0, Math.min(words.size(), SELF_BLEU_MAX))));
    return m;
  }
}
