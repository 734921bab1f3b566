package ai.cory.driver.train;

import ai.cory.common.checkpoint.Checkpoint;
import ai.cory.common.config.RuntimeSettings;
import ai.cory.common.config.Settings;
import ai.cory.common.cory.IterationPlan;
import ai.cory.common.cory.RoleSchedule;
import ai.cory.common.model.ModelConfig;
import ai.cory.common.task.TaskPrompt;
import ai.cory.driver.spark.IterationStage;
import ai.cory.driver.spark.Preflight;
import ai.cory.driver.spark.PromptDataset;
import ai.cory.driver.spark.SparkSessions;
import ai.cory.driver.spark.TrainingFailedException;
import ai.cory.worker.spark.CheckpointRequest;
import ai.cory.worker.spark.FinishFunction;
import ai.cory.worker.spark.IterationTask;
import ai.cory.worker.spark.QueryShard;
import ai.cory.worker.spark.ReplicaPool;
import ai.cory.worker.spark.ReplicaSpec;
import ai.cory.worker.spark.TaskReport;
import ai.cory.worker.train.IterationReport;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.rdd.RDD;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.reflect.ClassTag$;
import scala.reflect.ClassTag;

/**
 * The training loop, the only one: a run of W data-parallel workers (W = 1 included), each
 * iteration one Spark barrier stage (ARCHITECTURE.md "The shape of a run"), in the shape of Spark's
 * {@code GradientDescent}: small plan out, one distributed action, aggregate on the driver.
 * <ol>
 *   <li>before any cluster resource: the settings are already validated; {@link Preflight}
 *       checks the model and dataset locations;
 *   <li>start (or join spark-submit's) session; read the prompts as a Dataset
 *       ({@link PromptDataset});
 *   <li>for each iteration k: the plan ({@link IterationPlan}: roles, L, seeds) and the batch
 *       ({@link QueryBatches}, a pure function of seed and k) cut into W shards; one barrier stage
 *       of W tasks ({@link IterationStage}); the reports merged and the replicas' fingerprints
 *       compared ({@link StageReports}); a line in {@code metrics.jsonl}, {@code replicas.jsonl}
 *       and on the console;
 *   <li>a final stage exports the agents and releases the executors' replicas.
 * </ol>
 * Role exchange happens inside the replicas as the plan says (every replica swaps its slots
 * identically). Checkpoints ({@link RunCheckpoints}): every {@code runtime.checkpoint-every}
 * iterations rank 0 writes its replica's state inside the stage and the driver commits it after
 * {@link StageReports#merge} accepted the stage; a run started on a run directory with a
 * committed checkpoint continues from it (replicas load it instead of the pretrained model,
 * the JSON-lines files are cut back to it and appended to).
 */
public final class TrainingLoop {
  /** The resolved settings, inside the run directory. */
  public static final String RESOLVED_CONFIG = "config.conf";
  /** Per-iteration replica fingerprints, inside the run directory. */
  public static final String REPLICAS_FILE = "replicas.jsonl";
  private static final Logger LOG = LoggerFactory.getLogger(TrainingLoop.class);
  private static final ClassTag<String> STRING = ClassTag$.MODULE$.apply(String.class);
  /** How long a cluster may take to register W executors before the first stage. */
  private static final long EXECUTOR_WAIT_MS = TimeUnit.MINUTES.toMillis(3);

  private TrainingLoop() {}

  /**
   * Runs a whole training on spark-submit's session or a new one.
   *
   * @param settings the validated settings
   * @param runDir   where the run writes (created): {@code config.conf}, {@code metrics.jsonl},
   *                 {@code samples.jsonl}, {@code replicas.jsonl}, {@code final/<agent>/}
   * @param progress receives one progress line per iteration
   * @return the merged report of every iteration
   */
  public static List<IterationReport> run(Settings settings, Path runDir, PrintStream progress)
      throws IOException, InterruptedException {
    SparkConf submitted = SparkSessions.submitted();
    ModelConfig model = Preflight.check(settings, SparkSessions.hadoop(submitted));
    Files.createDirectories(runDir);
    Files.writeString(runDir.resolve(RESOLVED_CONFIG), settings.render() + "\n", StandardCharsets.UTF_8);
    RunCheckpoints checkpoints = new RunCheckpoints(settings, runDir, SparkSessions.hadoop(submitted));
    Optional<Checkpoint> resume = checkpoints.resumable();
    long first = resume.map(Checkpoint::iteration).orElse(0L);
    if (first > 0) { // the logs go back to the checkpoint before anything is started
      for (String file : List.of(MetricsLog.METRICS_FILE, MetricsLog.SAMPLES_FILE, REPLICAS_FILE)) {
        String cut = RunCheckpoints.truncateFrom(runDir.resolve(file), first);
        if (cut != null) {
          progress.println("warning: " + cut);
        }
      }
    }
    SparkSessions spark = SparkSessions.start(settings, submitted);
    String runId = UUID.randomUUID().toString();
    try {
      if (!spark.local()) {
        Preflight.requireClusterPaths(settings);
      }
      spark.awaitExecutors(settings.runtime().workers(), EXECUTOR_WAIT_MS);
      ReplicaSpec spec = ReplicaSpec.withFreshToken(runId, settings, spark.transport(), spark.bindAddress(),
          resume.map(Checkpoint::location).orElse(null));
      if (first > 0) {
        progress.println("resuming after iteration " + (first - 1) + " from " + resume.get().location());
      }
      // shipped once per executor (and validated there once), not with every iteration's tasks
      Broadcast<ReplicaSpec> shared = spark.java().broadcast(spec);
      try {
        return loop(spark, shared, model, runDir, first, checkpoints, progress);
      } finally {
        shared.destroy();
      }
    } finally {
      if (spark.local()) {
        ReplicaPool.release(runId); // executors are this JVM: nothing may outlive the run
      }
      spark.stopIfOwned();
    }
  }

  private static List<IterationReport> loop(SparkSessions spark, Broadcast<ReplicaSpec> shared, ModelConfig model,
      Path runDir,
      long first, RunCheckpoints checkpoints, PrintStream progress) throws IOException {
    JavaSparkContext jsc = spark.java();
    ReplicaSpec spec = shared.value();
    Settings settings = spec.settings();
    RuntimeSettings runtime = settings.runtime();
    int workers = runtime.workers();
    long t0 = System.nanoTime();
    List<TaskPrompt> dataset = PromptDataset.load(spark.session(), settings, model.maxPositions());
    QueryBatches batches = new QueryBatches(dataset, settings.ppo().batchSize(), settings.run().seed());
    RoleSchedule schedule = new RoleSchedule(settings.twoAgents() ? settings.algorithm().roleExchangePeriod() : 0);
    int iterations = settings.run().iterations();
    LOG.info("run {}: {} iteration(s) of {} on {} prompts from {} (read in {} s), {} worker(s), run directory {}",
        spec.runId(), iterations, settings.algorithm().mode(), dataset.size(), settings.task().data(),
        String.format(Locale.ROOT, "%.1f", (System.nanoTime() - t0) / 1e9), workers, runDir.toAbsolutePath());
    List<IterationReport> reports = new ArrayList<>();
    boolean resumed = first > 0;
    try (MetricsLog log = new MetricsLog(runDir, resumed);
        ReplicaLog replicas = new ReplicaLog(runDir.resolve(REPLICAS_FILE), resumed)) {
      for (long k = first; k < iterations; k++) {
        IterationPlan plan = IterationPlan.of(settings.run().seed(), k, schedule,
            settings.generation().minNewTokens(), settings.generation().maxNewTokens());
        boolean verify = runtime.verifiesAfter(k, iterations);
        CheckpointRequest checkpoint = checkpoints.requestAfter(k);
        List<QueryShard> shards = QueryShard.split(batches.batch(k), workers);
        long stageStart = System.nanoTime();
        List<TaskReport> taskReports;
        try {
          taskReports = IterationStage.run(jsc, new IterationTask(shared, plan, verify, checkpoint), shards);
        } catch (TrainingFailedException e) {
          throw new TrainingFailedException(e.getMessage() + "; " + checkpoints.resumeAdvice(), e.getCause());
        }
        double stageSeconds = (System.nanoTime() - stageStart) / 1e9;
        IterationReport merged = StageReports.merge(k, taskReports, workers, stageSeconds);
        replicas.write(k, taskReports);
        log.write(merged);
        if (checkpoint != null) {
          checkpoints.commit(k, taskReports);
        }
        progress.println(MetricsLog.progressLine(merged, iterations) + String.format(Locale.ROOT,
            " | %d worker(s), stage %.1f s%s%s", workers, stageSeconds,
            verify && workers > 1 ? ", replicas identical" : "", checkpoint != null ? ", checkpoint committed" : ""));
        progress.flush();
        reports.add(merged);
      }
    }
    finish(jsc, shared, runDir, iterations - 1);
    return reports;
  }

  /** The last stage: export (rank 0) and release of every executor's replicas. */
  private static void finish(JavaSparkContext jsc, Broadcast<ReplicaSpec> shared, Path runDir, long lastIteration) {
    ReplicaSpec spec = shared.value();
    int workers = spec.workers();
    List<Integer> ranks = new ArrayList<>();
    for (int r = 0; r < workers; r++) {
      ranks.add(r);
    }
    jsc.setJobGroup("cory-" + spec.runId(), "CORY finish: export and release", false);
    try {
      RDD<Integer> rdd = jsc.parallelize(ranks, workers).rdd();
      RDD<String> lines = rdd.barrier().mapPartitions(new FinishFunction(shared,
          spec.settings().run().storeOr(runDir), lastIteration), false, STRING);
      for (String line : new JavaRDD<>(lines, STRING).collect()) {
        LOG.info("{}", line);
      }
    } catch (Exception e) { // SparkException is checked, though Scala declares nothing
      throw new TrainingFailedException("finishing the run failed: " + TrainingFailedException.causes(e), e);
    } finally {
      jsc.clearJobGroup();
    }
  }
}
