package ai.cory.driver.train;

import ai.cory.common.checkpoint.Checkpoint;
import ai.cory.common.config.RuntimeSettings;
import ai.cory.common.config.Settings;
import ai.cory.common.cory.IterationPlan;
import ai.cory.common.cory.RoleSchedule;
import ai.cory.common.io.FileSourceResolver;
import ai.cory.common.io.LocalFileSource;
import ai.cory.common.metrics.MetricNames;
import ai.cory.common.metrics.RunFiles;
import ai.cory.common.model.ModelConfig;
import ai.cory.common.task.TaskPrompt;
import ai.cory.common.tokenizer.Tokenizer;
import ai.cory.driver.metrics.TrainingGauges;
import ai.cory.driver.report.ReportOutput;
import ai.cory.driver.report.RunData;
import ai.cory.driver.report.RunReport;
import ai.cory.driver.spark.IterationStage;
import ai.cory.driver.spark.Preflight;
import ai.cory.driver.spark.PromptDataset;
import ai.cory.driver.spark.SparkSessions;
import ai.cory.driver.spark.TrainingFailedException;
import ai.cory.worker.eval.HeldOutRequest;
import ai.cory.worker.spark.CheckpointRequest;
import ai.cory.worker.spark.FinishFunction;
import ai.cory.worker.spark.IterationTask;
import ai.cory.worker.spark.QueryShard;
import ai.cory.worker.spark.ReplicaPool;
import ai.cory.worker.spark.ReplicaSpec;
import ai.cory.worker.spark.TaskReport;
import ai.cory.worker.spark.WorkerAssets;
import ai.cory.worker.store.FileSources;
import ai.cory.worker.store.StoreLease;
import ai.cory.worker.train.IterationReport;
import ai.cory.worker.train.MemoryPlan;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.rdd.RDD;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;

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
 * the JSON-lines files are cut back to it and appended to). A stage that fails because an
 * executor was lost is recovered in the same application ({@code runtime.max-recoveries}): the
 * executors are awaited back to W and every replica returns to the newest committed checkpoint.
 */
public final class TrainingLoop {
  /** The resolved settings, inside the run directory. */
  public static final String RESOLVED_CONFIG = RunFiles.CONFIG;
  /** Per-iteration replica fingerprints, inside the run directory. */
  public static final String REPLICAS_FILE = RunFiles.REPLICAS;
  /** The JSON-lines logs of a run, cut back to the checkpoint a run resumes or recovers from. */
  private static final List<String> LOG_FILES = List.of(MetricsLog.METRICS_FILE, MetricsLog.SAMPLES_FILE,
      REPLICAS_FILE);
  private static final Logger LOG = LoggerFactory.getLogger(TrainingLoop.class);
  private static final ClassTag<String> STRING = ClassTag$.MODULE$.apply(String.class);

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
    StoreLogs storeLogs = StoreLogs.of(settings.run().storeOr(runDir), runDir, SparkSessions.hadoop(submitted));
    if (storeLogs != null && settings.runtime().resume()) { // a new host: the store has the logs
      storeLogs.restoreMissing(progress);
    }
    Long finished = settings.runtime().resume() ? finishedIterations(runDir) : null;
    if (finished != null && finished >= settings.run().iterations()) {
      progress.println("run already finished: " + runDir.resolve(RunFiles.FINISHED) + " records " + finished
          + " iteration(s) of " + settings.run().iterations() + "; nothing to do (raise cory.run.iterations to train "
          + "further, or give another run directory)");
      return List.of();
    }
    ModelConfig model = Preflight.check(settings, SparkSessions.hadoop(submitted));
    MemoryPlan plan = MemoryPlan.of(settings, model);
    LOG.info("{}{}", plan.render(), Preflight.checkMemory(settings, plan, submitted));
    Preflight.checkDevice(settings, plan, submitted);
    String runId = UUID.randomUUID().toString();
    // one writer per store: refused here, before this run writes anything, while another holds it
    try (StoreLease lease = StoreLease.acquire(settings.run().storeOr(runDir), SparkSessions.hadoop(submitted), runId,
        holder(), settings.runtime().storeLeaseTimeoutMs())) {
      LOG.info("run {} holds the store lease {}", runId, lease.location());
      return runHolding(settings, runDir, progress, submitted, model, runId, storeLogs);
    }
  }

  /** {@code host, pid N}: who holds a store lease. */
  private static String holder() {
    String host;
    try {
      host = InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      host = "unknown host";
    }
    return host + ", pid " + ProcessHandle.current().pid();
  }

  /** The run, once its store lease is held. */
  private static List<IterationReport> runHolding(Settings settings, Path runDir, PrintStream progress,
      SparkConf submitted, ModelConfig model, String runId, StoreLogs storeLogs)
      throws IOException, InterruptedException {
    Files.createDirectories(runDir);
    Files.deleteIfExists(runDir.resolve(RunFiles.FINISHED)); // extended or restarted: not finished any more
    Files.writeString(runDir.resolve(RESOLVED_CONFIG), settings.renderRedacted() + "\n", StandardCharsets.UTF_8);
    RunCheckpoints checkpoints = new RunCheckpoints(settings, runDir, SparkSessions.hadoop(submitted));
    Optional<Checkpoint> resume = checkpoints.resumable();
    long first = resume.map(Checkpoint::iteration).orElse(0L);
    if (first > 0) { // the logs go back to the checkpoint before anything is started
      cutLogsBackTo(runDir, first, progress);
    }
    long sessionStart = System.currentTimeMillis();
    SparkSessions spark = SparkSessions.start(settings, submitted);
    Loop loop = null;
    try {
      if (!spark.local()) {
        Preflight.requireClusterPaths(settings);
      }
      // Spark spent part of the registration wait starting the session: the rest is left
      spark.awaitExecutors(settings.runtime().workers(), sessionStart, spark.registrationWaitMs());
      ReplicaSpec spec = ReplicaSpec.withFreshToken(runId, settings, spark.transport(), spark.bindAddress(),
          resume.map(Checkpoint::location).orElse(null));
      if (first > 0) {
        progress.println("resuming after iteration " + (first - 1) + " from " + resume.get().location());
      }
      loop = new Loop(spark, spec, model, runDir, checkpoints, progress, storeLogs);
      long t0 = System.nanoTime();
      List<IterationReport> reports = loop.run(first);
      Files.writeString(runDir.resolve(RunFiles.FINISHED), String.format(Locale.ROOT,
          "{\"iterations\":%d,\"first_iteration_this_run\":%d,\"seconds\":%.1f,\"finished\":\"%s\"}%n",
          settings.run().iterations(), first, (System.nanoTime() - t0) / 1e9, Instant.now()),
          StandardCharsets.UTF_8);
      writeReport(runDir, progress);
      if (storeLogs != null) {
        storeLogs.uploadFinal();
      }
      return reports;
    } finally {
      try {
        if (loop != null) {
          loop.close();
        }
      } finally {
        if (spark.local()) { // executors are this JVM: nothing may outlive the run
          ReplicaPool.release(loop != null ? loop.spec.runId() : runId);
        }
        spark.stopIfOwned();
      }
    }
  }

  /**
   * The iterations {@code finished.json} in {@code runDir} records, or null when there is none
   * (or it cannot be read: then the run is treated as unfinished).
   */
  static Long finishedIterations(Path runDir) {
    Path marker = runDir.resolve(RunFiles.FINISHED);
    if (!Files.isRegularFile(marker)) {
      return null;
    }
    try {
      JsonNode iterations = new ObjectMapper().readTree(marker.toFile()).get("iterations");
      return iterations != null && iterations.canConvertToLong() ? iterations.asLong() : null;
    } catch (IOException e) {
      LOG.warn("{} is unreadable ({}); the run is treated as unfinished", marker, e.toString());
      return null;
    }
  }

  /**
   * The run's report ({@link RunReport}) into its directory. A report that cannot be drawn
   * (no display libraries, a full disk) is a warning, never a failed run.
   */
  static void writeReport(Path runDir, PrintStream progress) {
    try {
      RunData run = RunData.read(runDir.toString(), new LocalFileSource(runDir));
      RunReport.write(List.of(run), ReportOutput.open(runDir.toString(), new Configuration()), List.of(), "");
      progress.println("report: " + runDir.resolve(RunReport.HTML).toAbsolutePath());
    } catch (IOException | RuntimeException | LinkageError e) {
      LOG.warn("could not write the run report into {}: {}", runDir, e.toString());
      progress.println("warning: no report written (" + e + "); bin/cory report " + runDir + " retries");
    }
  }

  /** Drops the lines of iterations at or after {@code from} from the run's JSON-lines logs. */
  private static void cutLogsBackTo(Path runDir, long from, PrintStream progress) throws IOException {
    for (String file : LOG_FILES) {
      String cut = RunCheckpoints.truncateFrom(runDir.resolve(file), from);
      if (cut != null) {
        progress.println("warning: " + cut);
      }
    }
  }

  /**
   * The iterations of one application, with their logs and the in-job recoveries: when a stage
   * fails because an executor was lost, the executors are awaited back to W, every replica
   * returns to the newest committed checkpoint (a new replica generation, so no replica of the
   * failed stage is reused) and the iterations continue from there.
   */
  private static final class Loop implements AutoCloseable {
    private final SparkSessions spark;
    private final Settings settings;
    private final RuntimeSettings runtime;
    private final Path runDir;
    private final RunCheckpoints checkpoints;
    private final PrintStream progress;
    private final QueryBatches batches;
    private final RoleSchedule schedule;
    private final int iterations;
    private final List<IterationReport> reports = new ArrayList<>();
    private ReplicaSpec spec;
    // the spec is shipped once per executor (and validated there once), not with every task
    private Broadcast<ReplicaSpec> shared;
    private final HeldOutEvaluation heldOut;
    private final StoreLogs storeLogs;
    private double stageSecondsSum;
    private int stagesTimed;
    private MetricsLog log;
    private ReplicaLog replicas;
    private int recoveries;

    Loop(SparkSessions spark, ReplicaSpec spec, ModelConfig model, Path runDir, RunCheckpoints checkpoints,
        PrintStream progress, StoreLogs storeLogs) throws IOException {
      this.storeLogs = storeLogs;
      this.spark = spark;
      this.spec = spec;
      this.settings = spec.settings();
      this.runtime = settings.runtime();
      this.runDir = runDir;
      this.checkpoints = checkpoints;
      this.progress = progress;
      long t0 = System.nanoTime();
      List<TaskPrompt> dataset = PromptDataset.load(spark.session(), settings, model.maxPositions());
      this.batches = new QueryBatches(dataset, settings.ppo().batchSize(), settings.run().seed());
      this.schedule = new RoleSchedule(settings.twoAgents() ? settings.algorithm().roleExchangePeriod() : 0);
      this.iterations = settings.run().iterations();
      this.shared = spark.java().broadcast(spec);
      FileSourceResolver files = FileSources.resolver(spark.java().hadoopConfiguration());
      Tokenizer tokenizer = WorkerAssets.loadTokenizer(settings, spark.java().hadoopConfiguration());
      try {
        this.heldOut = HeldOutEvaluation.prepare(settings, tokenizer, files, model.maxPositions(), progress);
      } finally {
        WorkerAssets.close(tokenizer);
      }
      LOG.info("run {}: {} iteration(s) of {} on {} prompts from {} (read in {} s), {} worker(s), run directory {}",
          spec.runId(), iterations, settings.algorithm().mode(), dataset.size(), settings.task().data(),
          String.format(Locale.ROOT, "%.1f", (System.nanoTime() - t0) / 1e9), runtime.workers(),
          runDir.toAbsolutePath());
    }

    List<IterationReport> run(long first) throws IOException, InterruptedException {
      TrainingGauges.shared().startRun(iterations, first - 1);
      openLogs(first > 0);
      for (long k = first; k < iterations; ) {
        try {
          reports.add(iteration(k));
          k++;
        } catch (TrainingFailedException e) {
          k = recover(k, e);
        }
      }
      closeLogs();
      finish(spark.java(), shared, runDir, iterations - 1);
      return reports;
    }

    /** Runs iteration k as one barrier stage and logs it. */
    private IterationReport iteration(long k) throws IOException {
      IterationPlan plan = IterationPlan.of(settings.run().seed(), k, schedule,
          settings.generation().minNewTokens(), settings.generation().maxNewTokens());
      boolean verify = runtime.verifiesAfter(k, iterations);
      CheckpointRequest checkpoint = checkpoints.requestAfter(k);
      int workers = runtime.workers();
      List<QueryShard> shards = QueryShard.split(batches.batch(k), workers);
      long stageStart = System.nanoTime();
      HeldOutRequest evaluate = heldOut != null && settings.eval().after(k, iterations) ? heldOut.request() : null;
      List<TaskReport> taskReports =
          IterationStage.run(spark.java(), new IterationTask(shared, plan, verify, checkpoint, evaluate), shards);
      double stageSeconds = (System.nanoTime() - stageStart) / 1e9;
      IterationReport merged = StageReports.merge(k, taskReports, workers, stageSeconds)
          .withMetric(MetricNames.RECOVERIES, recoveries);
      String heldOutLine = "";
      if (evaluate != null) {
        Map<String, Double> measures = heldOut.metrics(taskReports);
        for (Map.Entry<String, Double> e : measures.entrySet()) {
          merged = merged.withMetric(e.getKey(), e.getValue());
        }
        heldOutLine = heldOutLine(measures);
      }
      replicas.write(k, taskReports);
      log.write(merged);
      if (checkpoint != null) {
        checkpoints.commit(k, taskReports);
      }
      if (storeLogs != null) {
        try {
          storeLogs.uploadLogs();
        } catch (IOException e) { // the run directory keeps them; the next iteration tries again
          LOG.warn("iteration {}: could not copy the logs into the store: {}", k, e.toString());
        }
      }
      stageSecondsSum += stageSeconds;
      stagesTimed++;
      double eta = stageSecondsSum / stagesTimed * (iterations - k - 1);
      double tokensPerSecond = MetricsLog.responseTokens(merged, settings.ppo().batchSize()) / stageSeconds;
      boolean verified = verify && workers > 1;
      TrainingGauges.shared().publish(merged, tokensPerSecond, checkpoint != null, verified);
      progress.println(MetricsLog.progressLine(merged, iterations) + String.format(Locale.ROOT,
          " | %d worker(s), stage %.1f s, %.0f tok/s, ETA %s%s%s", workers, stageSeconds, tokensPerSecond,
          MetricsLog.duration(eta), verified ? ", replicas identical" : "",
          checkpoint != null ? ", checkpoint committed" : "") + heldOutLine);
      progress.flush();
      return merged;
    }

    /** {@code  | held-out reward A 0.412 B 0.398} (or pass@1 for GSM8K). */
    private static String heldOutLine(Map<String, Double> measures) {
      StringBuilder b = new StringBuilder();
      for (Map.Entry<String, Double> e : measures.entrySet()) {
        String[] parts = e.getKey().split("/", 3); // eval, agent, measure
        if (parts[2].equals("reward_mean") || parts[2].equals("pass@1")) {
          b.append(b.length() == 0 ? " | held-out " + parts[2] : "").append(String.format(Locale.ROOT, " %s %.3f",
              parts[1], e.getValue()));
        }
      }
      return b.toString();
    }

    /**
     * After iteration k failed: when an executor was lost and recoveries are left, waits for the
     * executors, moves every replica back to the newest committed checkpoint and returns the
     * iteration to continue with; otherwise fails with the resume advice.
     */
    private long recover(long k, TrainingFailedException failure) throws IOException, InterruptedException {
      if (!failure.executorLost() || recoveries >= runtime.maxRecoveries()) {
        String why = !failure.executorLost() ? "" : "; " + recoveries + " recover" + (recoveries == 1 ? "y" : "ies")
            + " already made (cory.runtime.max-recoveries = " + runtime.maxRecoveries() + ")";
        throw new TrainingFailedException(failure.getMessage() + why + "; " + checkpoints.resumeAdvice(),
            failure.getCause());
      }
      recoveries++;
      Optional<Checkpoint> back = checkpoints.newestCommitted();
      long from = back.map(Checkpoint::iteration).orElse(0L);
      progress.println("iteration " + k + " lost an executor (" + failure.getMessage() + "); recovery " + recoveries
          + " of " + runtime.maxRecoveries() + ": waiting up to " + runtime.recoveryWaitMs() / 1000 + " s for "
          + runtime.workers() + " executors, then every replica returns to "
          + back.map(c -> "the checkpoint after iteration " + (from - 1) + " (" + c.location() + ")")
              .orElse("the pretrained model (no checkpoint committed yet)"));
      progress.flush();
      spark.awaitExecutors(runtime.workers(), System.currentTimeMillis(), runtime.recoveryWaitMs());
      closeLogs();
      cutLogsBackTo(runDir, from, progress);
      openLogs(from > 0);
      reports.removeIf(r -> r.iteration() >= from);
      spec = spec.recovered(recoveries, back.map(Checkpoint::location).orElse(null));
      shared.destroy();
      shared = spark.java().broadcast(spec);
      LOG.warn("run {}: recovery {} after iteration {} failed, continuing at iteration {}", spec.runId(), recoveries,
          k, from);
      return from;
    }

    private void openLogs(boolean append) throws IOException {
      log = new MetricsLog(runDir, append);
      replicas = new ReplicaLog(runDir.resolve(REPLICAS_FILE), append);
    }

    private void closeLogs() throws IOException {
      try {
        if (log != null) {
          log.close();
        }
      } finally {
        log = null;
        if (replicas != null) {
          replicas.close();
        }
        replicas = null;
      }
    }

    @Override
    public void close() throws IOException {
      try {
        closeLogs();
      } finally {
        shared.destroy();
      }
    }
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
