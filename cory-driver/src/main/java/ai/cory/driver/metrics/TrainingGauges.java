package ai.cory.driver.metrics;

import ai.cory.common.cory.AgentId;
import ai.cory.common.cory.Role;
import ai.cory.worker.train.IterationReport;
import com.codahale.metrics.Gauge;
import com.codahale.metrics.MetricRegistry;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The driver's training metrics as Dropwizard gauges, the values of the newest iteration, for
 * Spark's metrics system ({@link CoryMetricsPlugin} registers them; the Prometheus servlet, JMX,
 * Graphite and CSV sinks then carry them).
 *
 * <p>Gauge names ({@code docs/training.md} lists them): every {@code metrics.jsonl} value, with
 * {@code /} as {@code .}; a per-agent value {@code <agent>/<role>/<name>} twice, as
 * {@code agent.<agent>.<name>} (one curve per agent across role exchanges) and
 * {@code role.<role>.<name>} (one curve per role); and the run's state: {@code run.iteration},
 * {@code run.iterations}, {@code run.generation_length}, {@code run.roles_exchanged},
 * {@code agent.<agent>.pioneer} (1 or 0), {@code run.tokens_per_second},
 * {@code checkpoint.last_committed_iteration} (-1 before the first), {@code replicas.identical}
 * (1 once a check found the replicas bit-identical, the run stops otherwise) and
 * {@code replicas.last_verified_iteration}. A gauge reads NaN until its first value.
 *
 * <p>One instance per JVM ({@link #shared()}): Spark creates the plugin reflectively, and a
 * driver runs one training at a time. A name appears in the registry when first published;
 * Dropwizard passes it on to the metrics system's registry, so sinks see gauges added mid-run.
 */
public final class TrainingGauges {
  /** Run state gauges, registered before the first iteration. */
  public static final String ITERATION = "run.iteration";
  public static final String ITERATIONS = "run.iterations";
  public static final String GENERATION_LENGTH = "run.generation_length";
  public static final String ROLES_EXCHANGED = "run.roles_exchanged";
  public static final String TOKENS_PER_SECOND = "run.tokens_per_second";
  public static final String LAST_CHECKPOINT = "checkpoint.last_committed_iteration";
  public static final String REPLICAS_IDENTICAL = "replicas.identical";
  public static final String LAST_VERIFIED = "replicas.last_verified_iteration";
  private static final List<String> RUN_STATE = List.of(ITERATION, ITERATIONS, GENERATION_LENGTH, ROLES_EXCHANGED,
      TOKENS_PER_SECOND, LAST_CHECKPOINT, REPLICAS_IDENTICAL, LAST_VERIFIED);
  private static final TrainingGauges SHARED = new TrainingGauges();

  private final Map<String, Double> values = new ConcurrentHashMap<>();
  private final Set<String> registered = ConcurrentHashMap.newKeySet();
  private volatile MetricRegistry registry;

  TrainingGauges() {}

  /** The JVM's gauges. */
  public static TrainingGauges shared() {
    return SHARED;
  }

  /** Registers every gauge known so far in {@code target}, and later ones as they come. */
  public synchronized void attach(MetricRegistry target) {
    registry = target;
    registered.clear();
    for (String name : RUN_STATE) {
      register(name);
    }
    for (String name : values.keySet()) {
      register(name);
    }
  }

  /** Stops registering in {@code target} (the Spark context stopped). */
  public synchronized void detach(MetricRegistry target) {
    if (registry == target) {
      registry = null;
      registered.clear();
    }
  }

  /**
   * A new run: forgets the previous run's values.
   *
   * @param iterations        the run's iterations
   * @param lastCheckpoint    the iteration of the committed checkpoint it resumes from, or -1
   */
  public synchronized void startRun(long iterations, long lastCheckpoint) {
    values.clear();
    values.put(ITERATIONS, (double) iterations);
    values.put(LAST_CHECKPOINT, (double) lastCheckpoint);
    values.put(REPLICAS_IDENTICAL, 0.0);
    values.put(LAST_VERIFIED, -1.0);
  }

  /**
   * Publishes one finished iteration.
   *
   * @param report          the merged report, as written to {@code metrics.jsonl}
   * @param tokensPerSecond response tokens of both agents per second of the stage
   * @param checkpointed    a checkpoint after this iteration was committed
   * @param verified        the replicas were compared after this iteration and found identical
   */
  public synchronized void publish(IterationReport report, double tokensPerSecond, boolean checkpointed,
      boolean verified) {
    Map<String, Double> next = new LinkedHashMap<>();
    next.put(ITERATION, (double) report.iteration());
    next.put(GENERATION_LENGTH, (double) report.generationLength());
    next.put(ROLES_EXCHANGED, report.exchanged() ? 1.0 : 0.0);
    next.put(TOKENS_PER_SECOND, tokensPerSecond);
    for (AgentId agent : AgentId.values()) {
      if (report.metrics().keySet().stream().anyMatch(k -> k.startsWith(agent.key() + "/"))) {
        next.put("agent." + agent.key() + ".pioneer", report.pioneer() == agent ? 1.0 : 0.0);
      }
    }
    if (checkpointed) {
      next.put(LAST_CHECKPOINT, (double) report.iteration());
    }
    if (verified) {
      next.put(REPLICAS_IDENTICAL, 1.0);
      next.put(LAST_VERIFIED, (double) report.iteration());
    }
    for (Map.Entry<String, Double> e : report.metrics().entrySet()) {
      for (String name : gaugeNames(e.getKey())) {
        next.put(name, e.getValue());
      }
    }
    values.putAll(next);
    for (String name : next.keySet()) {
      register(name);
    }
  }

  /**
   * The gauge names of one {@code metrics.jsonl} key: {@code A/pioneer/objective/kl} gives
   * {@code agent.A.objective.kl} and {@code role.pioneer.objective.kl}; {@code time/rollout}
   * gives {@code time.rollout}.
   */
  public static List<String> gaugeNames(String metricKey) {
    String[] parts = metricKey.split("/", 3);
    List<String> names = new ArrayList<>(2);
    if (parts.length == 3 && isAgent(parts[0]) && isRole(parts[1])) {
      String name = parts[2].replace('/', '.');
      names.add("agent." + parts[0] + "." + name);
      names.add("role." + parts[1] + "." + name);
    } else {
      names.add(metricKey.replace('/', '.'));
    }
    return names;
  }

  private static boolean isAgent(String s) {
    for (AgentId a : AgentId.values()) {
      if (a.key().equals(s)) {
        return true;
      }
    }
    return false;
  }

  private static boolean isRole(String s) {
    for (Role r : Role.values()) {
      if (r.key().equals(s)) {
        return true;
      }
    }
    return false;
  }

  private void register(String name) {
    MetricRegistry target = registry;
    if (target != null && registered.add(name)) {
      target.register(name, (Gauge<Double>) () -> values.getOrDefault(name, Double.NaN));
    }
  }
}
