package ai.cory.driver.spark;

import ai.cory.common.config.Compute;
import ai.cory.common.config.Settings;
import ai.cory.common.config.SettingsException;
import ai.cory.common.cuda.CudaException;
import ai.cory.common.cuda.EngineDevice;
import ai.cory.common.io.FileSource;
import ai.cory.common.io.FileSourceResolver;
import ai.cory.common.model.HfConfigReader;
import ai.cory.common.model.ModelConfig;
import ai.cory.common.model.ModelSource;
import ai.cory.worker.spark.WorkerAssets;
import ai.cory.worker.store.FileSources;
import ai.cory.worker.train.MemoryPlan;
import com.sun.management.OperatingSystemMXBean;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueType;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.List;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.UnsupportedFileSystemException;
import org.apache.hadoop.util.VersionInfo;
import org.apache.spark.SparkConf;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks on the driver, before any cluster resource is requested, that what the validated
 * settings name exists and loads: the model directory (its {@code config.json} is read for the
 * context length), the task reward (built once, as every executor will build it) and the dataset.
 * A typo in a path or a reward type fails in seconds instead of after executors start.
 */
public final class Preflight {
  private static final Logger LOG = LoggerFactory.getLogger(Preflight.class);

  private Preflight() {}

  /**
   * @return the model's shape (the demo model's, or read from {@code config.json})
   * @throws IOException naming the missing location and its key
   */
  public static ModelConfig check(Settings settings, Configuration hadoop) throws IOException {
    String modelPath = settings.model().path();
    if (!ModelSource.builtIn(modelPath)) {
      fileSystem("cory.model.path", modelPath, hadoop);
    }
    ModelConfig model = WorkerAssets.model(settings, FileSources.resolver(hadoop)).config();
    int maxNew = settings.generation().maxNewTokens();
    if (maxNew >= model.maxPositions()) {
      throw new IllegalArgumentException("cory.generation.max-new-tokens = " + maxNew + " leaves no room for a "
          + "prompt in the model's context of " + model.maxPositions() + " positions (" + modelPath + ")");
    }
    WorkerAssets.reward(settings, FileSources.resolver(hadoop)); // a bad reward fails here, not on an executor
    String data = settings.task().data();
    Path dataPath = hadoopPath(data);
    FileSystem fs = fileSystem("cory.task.data", data, hadoop);
    if (!fs.exists(dataPath)) {
      throw new FileNotFoundException("cory.task.data: no such file or directory " + fs.makeQualified(dataPath));
    }
    String store = settings.run().store();
    if (store != null) { // checkpoints are written there after the first stages: find out now
      requireWritable("cory.run.store", fileSystem("cory.run.store", store, hadoop), hadoopPath(store));
    }
    return model;
  }

  /**
   * Refuses, before any executor is requested, a run whose memory plan exceeds what it will get.
   * A local master's one JVM holds all W replicas and the runtime: they must fit this machine's
   * memory. A cluster executor's heap is {@code spark.executor.memory} (default 1g) and everything
   * off-heap, its replica (ND4J buffers, Aeron) and native runtime, must fit
   * {@code spark.executor.memoryOverhead} (Spark's default: 10% of the memory, at least 384 MiB),
   * or YARN and Kubernetes kill the container.
   *
   * @return one line saying what fits where
   * @throws SettingsException with the plan, when it does not fit
   */
  public static String checkMemory(Settings settings, MemoryPlan plan, SparkConf submitted) {
    String master = submitted.get("spark.master", settings.runtime().masterOrLocal());
    if (master.startsWith("local")) {
      int replicas = settings.runtime().workers();
      long need = plan.localBytes(replicas);
      long have = ((OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getTotalMemorySize();
      String where = replicas + " replica(s) and the runtime (" + MemoryPlan.gib(MemoryPlan.LOCAL_RUNTIME_BYTES)
          + ") in one local JVM, on this machine's " + MemoryPlan.gib(have);
      if (need > have) {
        throw new SettingsException("cory.model", "the run needs " + MemoryPlan.gib(need) + ": " + where
            + "; use LoRA (cory.model.lora.rank) with a smaller cory.model.base-dtype, recompute activations, "
            + "fewer rows per worker, or a cluster. " + plan.render());
      }
      return "fits: " + MemoryPlan.gib(need) + ", " + where;
    }
    long memory = submitted.getSizeAsBytes("spark.executor.memory", "1g");
    long overhead = submitted.contains("spark.executor.memoryOverhead")
        ? submitted.getSizeAsMb("spark.executor.memoryOverhead") << 20 : Math.max(384L << 20, memory / 10);
    long offHeap = plan.replicaBytes() + MemoryPlan.EXECUTOR_NATIVE_BYTES;
    String where = "off-heap (the replica and " + MemoryPlan.gib(MemoryPlan.EXECUTOR_NATIVE_BYTES)
        + " of native runtime) against spark.executor.memoryOverhead " + MemoryPlan.gib(overhead)
        + ", beside a heap of spark.executor.memory " + MemoryPlan.gib(memory);
    if (offHeap > overhead) {
      throw new SettingsException("cory.model", "each executor needs " + MemoryPlan.gib(offHeap) + " " + where
          + "; raise spark.executor.memoryOverhead (deploy/spark-submit.sh --overhead) to at "
          + "least " + MemoryPlan.gib(offHeap) + ", or use LoRA with a smaller cory.model.base-dtype, recompute "
          + "activations or fewer rows per worker. " + plan.render());
    }
    return "fits: " + MemoryPlan.gib(offHeap) + " " + where;
  }

  /**
   * {@code cory.model.device} before any executor is requested: a local run's one JVM is its
   * executors, so its GPU is checked here (no driver, too old, too small: one line); a cluster
   * run with {@code cuda} must request GPU executors, whose GPU each replica checks at load.
   *
   * @throws SettingsException naming {@code cory.model.device} and why
   */
  public static void checkDevice(Settings settings, MemoryPlan plan, SparkConf submitted) {
    Compute compute = settings.model().compute();
    if (compute.device() == Compute.Device.CPU) {
      return;
    }
    String master = submitted.get("spark.master", settings.runtime().masterOrLocal());
    if (!master.startsWith("local")) {
      if (compute.device() == Compute.Device.CUDA
          && submitted.get("spark.executor.resource.gpu.amount", "0").equals("0")) {
        throw new SettingsException("cory.model.device", "cuda needs GPU executors: submit with "
            + "spark.executor.resource.gpu.amount=1 and spark.task.resource.gpu.amount=1 "
            + "(deploy/spark-submit.sh --gpus 1)");
      }
      return;
    }
    try {
      EngineDevice.place(compute, List.of(), plan.replicaBytes() * settings.runtime().workers(),
          "this machine (a local run of " + settings.runtime().workers() + " replica(s))", LOG::info);
    } catch (CudaException e) {
      throw new SettingsException("cory.model.device", e.getMessage().replaceFirst("^cory.model.device = ", ""));
    }
  }

  /**
   * On a cluster master whose executor count is fixed ({@code spark.executor.instances}, as on
   * YARN and Kubernetes), refuses W barrier tasks that could never all run at once: each
   * executor runs {@code spark.executor.cores / spark.task.cpus} tasks, and no more than its GPUs
   * allow ({@code spark.executor.resource.gpu.amount / spark.task.resource.gpu.amount}). A barrier
   * stage short of slots waits for them forever instead of failing.
   *
   * @throws IllegalArgumentException naming the settings and the numbers
   */
  public static void checkBarrierSlots(int workers, SparkConf conf) {
    if (!conf.contains("spark.executor.instances")) {
      return; // standalone and others size by cores: Spark's own check applies when the stage is submitted
    }
    int executors = conf.getInt("spark.executor.instances", 0);
    int cores = conf.getInt("spark.executor.cores", 1);
    int taskCpus = conf.getInt("spark.task.cpus", 1);
    int perExecutor = cores / Math.max(1, taskCpus);
    String why = "spark.executor.cores / spark.task.cpus = " + cores + " / " + taskCpus;
    double executorGpus = conf.getDouble("spark.executor.resource.gpu.amount", 0);
    double taskGpus = conf.getDouble("spark.task.resource.gpu.amount", 0);
    if (executorGpus > 0 && taskGpus > 0 && (int) Math.floor(executorGpus / taskGpus) < perExecutor) {
      perExecutor = (int) Math.floor(executorGpus / taskGpus);
      why = "spark.executor.resource.gpu.amount / spark.task.resource.gpu.amount = " + executorGpus + " / "
          + taskGpus;
    }
    long slots = (long) executors * perExecutor;
    if (slots < workers) {
      throw new IllegalArgumentException("cory.workers = " + workers + " barrier tasks must run at once, but "
          + "spark.executor.instances = " + executors + " executors x " + perExecutor + " task(s) each (" + why
          + ") give " + slots + " slot(s); request " + workers + " executors (deploy/spark-submit.sh --workers)");
    }
  }

  /** Creates {@code dir} and a probe file in it, then deletes the probe; fails naming the key. */
  static void requireWritable(String key, FileSystem fs, Path dir) throws IOException {
    Path qualified = fs.makeQualified(dir);
    Path probe = new Path(qualified, "_cory-write-probe-" + UUID.randomUUID());
    try {
      if (!fs.mkdirs(qualified)) {
        throw new IOException("mkdirs returned false");
      }
      fs.create(probe, false).close();
      fs.delete(probe, false);
    } catch (IOException e) {
      throw new IOException(key + ": cannot write to " + qualified + " (" + e.getMessage() + ")", e);
    }
  }

  /**
   * The Hadoop FileSystem of a user location, failing with the key and what to do when the
   * scheme has no file system on the classpath ({@code s3a://} without hadoop-aws).
   */
  static FileSystem fileSystem(String key, String location, Configuration hadoop) throws IOException {
    Path path = hadoopPath(location);
    String scheme = path.toUri().getScheme();
    String hint = "; put the file system's connector on the driver's and executors' classpath (s3a: "
        + "hadoop-aws and its AWS SDK bundle, e.g. spark-submit --packages org.apache.hadoop:hadoop-aws:"
        + VersionInfo.getVersion() + "; gs: the GCS connector; abfs: hadoop-azure)";
    try {
      return path.getFileSystem(hadoop);
    } catch (UnsupportedFileSystemException e) {
      throw new IOException(key + " = '" + location + "': no Hadoop FileSystem for scheme '" + scheme + "'" + hint, e);
    } catch (RuntimeException e) {
      Throwable cause = e;
      while (cause.getCause() != null && !(cause instanceof ClassNotFoundException)) {
        cause = cause.getCause();
      }
      if (cause instanceof ClassNotFoundException) {
        throw new IOException(key + " = '" + location + "': the FileSystem for scheme '" + scheme
            + "' is not on the classpath (" + cause.getMessage() + ")" + hint, e);
      }
      throw e;
    }
  }

  /**
   * On a cluster, executors read the model and the reward's file and write to the store
   * themselves, from their own working directory: those locations must be absolute paths or URIs.
   */
  public static void requireClusterPaths(Settings settings) {
    requireAbsolute("cory.model.path", settings.model().path());
    requireAbsolute("cory.task.data", settings.task().data());
    if (settings.run().store() != null) {
      requireAbsolute("cory.run.store", settings.run().store());
    } else { // executors write the checkpoints into the run directory: it must be the same place for all
      requireAbsolute("cory.run.dir (the store while cory.run.store is unset)", settings.run().dir());
    }
    Config reward = settings.reward().config();
    if (reward.hasPath("path") && reward.getValue("path").valueType() == ConfigValueType.STRING) {
      requireAbsolute("cory.reward.path", reward.getString("path"));
    }
  }

  private static void requireAbsolute(String key, String location) {
    boolean uri = FileSourceResolver.SCHEME.matcher(location).find();
    if (!ModelSource.builtIn(location) && !uri && !java.nio.file.Path.of(location).isAbsolute()) {
      throw new IllegalArgumentException(key + " = '" + location + "' is relative, but executors of a cluster "
          + "resolve it against their own working directory: give an absolute path on a shared mount or a URI "
          + "(hdfs://, s3a://, file:///...)");
    }
  }

  /** A user location as a Hadoop path: plain paths are local files, URIs keep their scheme. */
  static Path hadoopPath(String location) throws IOException {
    if (FileSourceResolver.SCHEME.matcher(location).find()) {
      try {
        return new Path(new URI(location));
      } catch (URISyntaxException e) {
        throw new IOException("malformed URI '" + location + "': " + e.getReason(), e);
      }
    }
    return new Path(java.nio.file.Path.of(location).toAbsolutePath().toUri());
  }
}
