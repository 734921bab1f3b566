package ai.cory.driver.spark;

import ai.cory.common.config.RuntimeSettings;
import ai.cory.common.config.RuntimeSettings.Transport;
import ai.cory.common.config.Settings;
import ai.cory.driver.metrics.CoryMetricsPlugin;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Option;
import scala.Tuple2;

/**
 * The Spark side of a run: the session (spark-submit's, or one started here on
 * {@code cory.runtime.master}, by default {@code local[W]}), the properties CORY needs, and the
 * data-plane choices that follow from the master.
 *
 * @param session      the session
 * @param owned        started here (and stopped at the end of the run)
 * @param local        a {@code local} master: the driver JVM runs every worker
 * @param transport    the resolved Aeron transport
 * @param bindAddress  what UDP endpoints bind and advertise, null for each executor's host
 */
public record SparkSessions(SparkSession session, boolean owned, boolean local, Transport transport, String bindAddress) {
  private static final Logger LOG = LoggerFactory.getLogger(SparkSessions.class);
  /**
   * JVM flags every executor needs on Java 17 beyond Spark's own: Agrona/Aeron reach into
   * jdk.internal.misc (STACK.md), the engine's kernels use the incubating Vector API.
   */
  static final List<String> EXECUTOR_JVM_FLAGS = List.of("--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED",
      "--add-modules=jdk.incubator.vector");
  private static final Pattern LOCAL = Pattern.compile("local(?:\\[(\\*|\\d+)(?:,\\d+)?])?");

  static final String MIN_REGISTERED_RATIO = "spark.scheduler.minRegisteredResourcesRatio";
  static final String MAX_REGISTRATION_WAIT = "spark.scheduler.maxRegisteredResourcesWaitingTime";
  static final String DEFAULT_REGISTRATION_WAIT = "3min";

  /**
   * The properties as spark-submit (system properties {@code spark.*}) left them, before any
   * session starts: what the driver reads its Hadoop configuration from.
   */
  public static SparkConf submitted() {
    return new SparkConf(true);
  }

  /** A Hadoop configuration with the {@code spark.hadoop.*} properties of {@code conf}. */
  public static Configuration hadoop(SparkConf conf) {
    Configuration hadoop = new Configuration();
    for (Tuple2<String, String> kv : conf.getAllWithPrefix("spark.hadoop.")) {
      hadoop.set(kv._1(), kv._2());
    }
    return hadoop;
  }

  /**
   * Starts or joins the session for a run of {@code settings}; fails before starting anything
   * when the master cannot host W workers or the transport cannot work there.
   */
  public static SparkSessions start(Settings settings, SparkConf submitted) {
    RuntimeSettings runtime = settings.runtime();
    SparkConf conf = submitted.clone();
    if (!conf.contains("spark.master")) {
      conf.setMaster(runtime.masterOrLocal());
    }
    String master = conf.get("spark.master");
    Matcher localMaster = LOCAL.matcher(master);
    boolean local = localMaster.matches();
    if (local) {
      int slots = localSlots(localMaster.group(1));
      if (slots < runtime.workers()) {
        throw new IllegalArgumentException("cory.workers = " + runtime.workers() + " needs as many task slots, but "
            + "master " + master + " has " + slots + "; use local[" + runtime.workers() + "]");
      }
      conf.setIfMissing("spark.driver.host", "127.0.0.1");
      conf.setIfMissing("spark.driver.bindAddress", "127.0.0.1");
      closeLocalUi(conf, System.getenv("SPARK_LOCAL_IP"));
    } else {
      Preflight.checkBarrierSlots(runtime.workers(), conf);
      // Spark itself holds the first job until every executor registered, or the wait ran out
      conf.setIfMissing(MIN_REGISTERED_RATIO, "1.0");
      conf.setIfMissing(MAX_REGISTRATION_WAIT, DEFAULT_REGISTRATION_WAIT);
      for (String flag : EXECUTOR_JVM_FLAGS) {
        appendJavaOption(conf, "spark.executor.extraJavaOptions", flag);
      }
    }
    if (conf.getBoolean("spark.dynamicAllocation.enabled", false)) {
      throw new IllegalArgumentException("spark.dynamicAllocation.enabled = true: barrier stages need a fixed set "
          + "of executors (one per worker); disable dynamic allocation");
    }
    conf.setIfMissing("spark.app.name", "cory-" + settings.algorithm().mode().name().toLowerCase(Locale.ROOT));
    conf.setIfMissing("spark.ui.showConsoleProgress", "false"); // the run prints its own progress lines
    addPlugin(conf, CoryMetricsPlugin.class.getName()); // the training gauges in Spark's metrics sinks
    // one OpenMP thread per core a task owns: oversubscription is the biggest CPU trap (STACK.md)
    conf.setIfMissing("spark.executorEnv.OMP_NUM_THREADS", conf.get("spark.task.cpus", "1"));
    conf.setIfMissing("spark.executorEnv.OMP_WAIT_POLICY", "PASSIVE");
    Transport transport = transport(runtime, local);
    String bindAddress = runtime.bindAddress() != null ? runtime.bindAddress() : local ? "127.0.0.1" : null;

    boolean existed = running(SparkSession.getActiveSession()) || running(SparkSession.getDefaultSession());
    SparkSession session = SparkSession.builder().config(conf).getOrCreate();
    if (existed) { // an embedding application's session: its master must still host W workers
      Matcher actual = LOCAL.matcher(session.sparkContext().master());
      if (actual.matches() && localSlots(actual.group(1)) < runtime.workers()) {
        throw new IllegalArgumentException("cory.workers = " + runtime.workers() + " needs as many task slots, but "
            + "the running session's master " + session.sparkContext().master() + " has "
            + localSlots(actual.group(1)));
      }
      local = actual.matches();
      transport = transport(runtime, local);
      bindAddress = runtime.bindAddress() != null ? runtime.bindAddress() : local ? "127.0.0.1" : null;
    }
    LOG.info("Spark {} master {} ({}), {} worker(s) over Aeron {}", session.version(),
        session.sparkContext().master(), existed ? "existing session" : "new session", runtime.workers(), transport);
    return new SparkSessions(session, !existed, local, transport, bindAddress);
  }

  private static boolean running(Option<SparkSession> session) {
    return session.isDefined() && !session.get().sparkContext().isStopped();
  }

  private static int localSlots(String group) {
    if (group == null) {
      return 1;
    }
    return group.equals("*") ? Runtime.getRuntime().availableProcessors() : Integer.parseInt(group);
  }

  private static Transport transport(RuntimeSettings runtime, boolean local) {
    return switch (runtime.transport()) {
      case AUTO -> local ? Transport.IPC : Transport.UDP;
      case UDP -> Transport.UDP;
      case IPC -> {
        if (!local && runtime.aeronDirectory() == null) {
          throw new IllegalArgumentException("cory.runtime.transport = ipc needs every worker in one JVM (a local "
              + "master) or one external media driver shared by the executors (cory.runtime.aeron-dir)");
        }
        yield Transport.IPC;
      }
    };
  }

  /**
   * A local run's web UI: no kill button, and only on loopback. Spark binds the UI to
   * {@code SPARK_LOCAL_IP} or else to every interface, and no property changes that, so unless
   * that variable is a loopback address (or the user set {@code spark.ui.enabled}), the UI of a
   * local run is off.
   */
  static void closeLocalUi(SparkConf conf, String sparkLocalIp) {
    conf.setIfMissing("spark.ui.killEnabled", "false");
    boolean loopback = sparkLocalIp != null && (sparkLocalIp.startsWith("127.") || sparkLocalIp.equals("::1")
        || sparkLocalIp.equals("localhost"));
    if (!loopback && !conf.contains("spark.ui.enabled")) {
      conf.set("spark.ui.enabled", "false");
      LOG.info("Spark UI off for this local run (it would listen on every interface); "
          + "SPARK_LOCAL_IP=127.0.0.1 serves it on loopback");
    }
  }

  /** Adds {@code plugin} to the comma-separated {@code spark.plugins}, once. */
  static void addPlugin(SparkConf conf, String plugin) {
    String current = conf.get("spark.plugins", "").trim();
    for (String p : current.split(",")) {
      if (p.trim().equals(plugin)) {
        return;
      }
    }
    conf.set("spark.plugins", current.isEmpty() ? plugin : current + "," + plugin);
  }

  private static void appendJavaOption(SparkConf conf, String key, String option) {
    String current = conf.get(key, "");
    if (!current.contains(option)) {
      conf.set(key, (current + " " + option).trim());
    }
  }

  /** The Java view of the context. */
  public JavaSparkContext java() {
    return JavaSparkContext.fromSparkContext(session.sparkContext());
  }

  /**
   * How long the executors may take to register, counted from the session's start (Spark itself
   * waits inside it): {@code spark.scheduler.maxRegisteredResourcesWaitingTime} (CORY's default
   * {@value #DEFAULT_REGISTRATION_WAIT}, with {@code spark.scheduler.minRegisteredResourcesRatio}
   * 1.0: a barrier stage needs all W).
   */
  public long registrationWaitMs() {
    return session.sparkContext().getConf().getTimeAsMs(MAX_REGISTRATION_WAIT, DEFAULT_REGISTRATION_WAIT);
  }

  /**
   * Waits until a cluster has registered at least {@code workers} executors (each barrier task
   * needs its own slot; Spark would otherwise retry the stage for minutes before failing).
   *
   * @param sinceMs   when the wait began (epoch milliseconds): time already spent counts
   * @param timeoutMs how long to wait from then
   */
  public void awaitExecutors(int workers, long sinceMs, long timeoutMs) throws InterruptedException {
    if (local) {
      return;
    }
    long deadline = sinceMs + timeoutMs;
    int executors;
    while (true) { // counted at least once: the wait left may be nothing
      executors = session.sparkContext().statusTracker().getExecutorInfos().length - 1; // minus the driver
      if (executors >= workers) {
        return;
      }
      if (System.currentTimeMillis() >= deadline) {
        break;
      }
      Thread.sleep(200);
    }
    throw new IllegalStateException("cory.workers = " + workers + " needs " + workers + " executors (one task slot "
        + "each), but " + executors + " registered within " + timeoutMs + " ms; start more executors "
        + "(spark.executor.instances, --total-executor-cores), allow them longer ("
        + MAX_REGISTRATION_WAIT + ") or lower cory.workers");
  }

  /** Stops the session when this run started it. */
  public void stopIfOwned() {
    if (owned) {
      session.stop();
    }
  }
}
