package ai.cory.driver.train;

import ai.cory.common.cory.AgentId;
import ai.cory.common.cory.Role;
import ai.cory.common.metrics.MetricNames;
import ai.cory.common.metrics.RunFiles;
import ai.cory.worker.train.IterationReport;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;
import java.util.Map;

/**
 * The run's metrics: one JSON object per iteration in {@code metrics.jsonl} (names documented
 * in {@link IterationReport}; non-finite values are written as null, JSON has no NaN), the
 * sample texts in {@code samples.jsonl}, and a readable progress line per iteration.
 */
public final class MetricsLog implements Closeable {
  /** File of the metrics, inside the run directory. */
  public static final String METRICS_FILE = RunFiles.METRICS;
  /** File of the sample texts, inside the run directory. */
  public static final String SAMPLES_FILE = RunFiles.SAMPLES;

  private static final ObjectMapper JSON = new ObjectMapper();
  private final BufferedWriter metrics;
  private final BufferedWriter samples;

  /** Creates (truncates) the files in {@code runDir}. */
  public MetricsLog(Path runDir) throws IOException {
    this(runDir, false);
  }

  /**
   * Opens the files in {@code runDir}.
   *
   * @param append continue existing files (a resumed run) instead of truncating them
   */
  public MetricsLog(Path runDir, boolean append) throws IOException {
    Files.createDirectories(runDir);
    OpenOption[] mode = append
        ? new OpenOption[] {StandardOpenOption.CREATE, StandardOpenOption.APPEND, StandardOpenOption.WRITE}
        : new OpenOption[] {StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE};
    metrics = Files.newBufferedWriter(runDir.resolve(METRICS_FILE), StandardCharsets.UTF_8, mode);
    samples = Files.newBufferedWriter(runDir.resolve(SAMPLES_FILE), StandardCharsets.UTF_8, mode);
  }

  /** Appends one iteration (flushed, so a crashed run keeps what it did). */
  public void write(IterationReport r) throws IOException {
    metrics.write(JSON.writeValueAsString(toJson(r)));
    metrics.newLine();
    metrics.flush();
    ObjectNode s = JSON.createObjectNode();
    s.put("iteration", r.iteration());
    r.samples().forEach(s::put);
    samples.write(JSON.writeValueAsString(s));
    samples.newLine();
    samples.flush();
  }

  /** The JSON object of one iteration. */
  public static ObjectNode toJson(IterationReport r) {
    ObjectNode o = JSON.createObjectNode();
    o.put("iteration", r.iteration());
    o.put("pioneer", r.pioneer().key());
    o.put("generation_length", r.generationLength());
    o.put("roles_exchanged", r.exchanged());
    for (Map.Entry<String, Double> e : r.metrics().entrySet()) {
      double v = e.getValue();
      if (Double.isFinite(v)) {
        o.put(e.getKey(), v);
      } else {
        o.putNull(e.getKey());
      }
    }
    return o;
  }

  /**
   * One line for the console, e.g.
   * {@code iter   3/30 L 9 | A pioneer reward 0.123 kl 0.012 | B observer reward 0.456 kl 0.034 | R_c 0.579 | 12.3 s (rollout 4.1, reward 0.0, train 8.1, sync 0.0)}.
   */
  public static String progressLine(IterationReport r, int iterations) {
    StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "iter %3d/%d L %2d", r.iteration() + 1,
        iterations, r.generationLength()));
    for (AgentId agent : AgentId.values()) {
      for (Role role : Role.values()) {
        String a = agent.key();
        String o = role.key();
        if (r.metrics().containsKey(MetricNames.ofAgent(a, o, MetricNames.REWARD_MEAN))) {
          sb.append(String.format(Locale.ROOT, " | %s %s reward %.3f kl %.3f beta %.3f loss %.3f", a, o,
              r.metric(MetricNames.ofAgent(a, o, MetricNames.REWARD_MEAN)),
              r.metric(MetricNames.ofAgent(a, o, MetricNames.KL)),
              r.metric(MetricNames.ofAgent(a, o, MetricNames.KL_COEF)),
              r.metric(MetricNames.ofAgent(a, o, MetricNames.LOSS_TOTAL))));
        }
      }
    }
    sb.append(String.format(Locale.ROOT, " | R_c %.3f | %.1f s (rollout %.1f, reward %.1f, train %.1f, sync %.1f)",
        r.metric(MetricNames.REWARD_COLLECTIVE), r.metric(MetricNames.TIME_ITERATION),
        r.metric(MetricNames.TIME_ROLLOUT), r.metric(MetricNames.TIME_REWARD), r.metric(MetricNames.TIME_TRAIN),
        r.metric(MetricNames.TIME_SYNC)));
    if (r.exchanged()) {
      sb.append(" | roles exchanged");
    }
    return sb.toString();
  }

  /** Response tokens the iteration sampled: batch size x the mean response length of every role. */
  public static double responseTokens(IterationReport r, int batchSize) {
    double tokens = 0;
    for (AgentId agent : AgentId.values()) {
      for (Role role : Role.values()) {
        Double len = r.metrics().get(MetricNames.ofAgent(agent.key(), role.key(), MetricNames.RESPONSES_LEN_MEAN));
        tokens += len == null || !Double.isFinite(len) ? 0 : len;
      }
    }
    return tokens * batchSize;
  }

  /** {@code 45s}, {@code 3m05s}, {@code 2h07m}. */
  public static String duration(double seconds) {
    long s = Math.round(Math.max(0, seconds));
    if (s < 60) {
      return s + "s";
    }
    if (s < 3600) {
      return String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
    }
    return String.format(Locale.ROOT, "%dh%02dm", s / 3600, (s % 3600) / 60);
  }

  @Override
  public void close() throws IOException {
    try {
      metrics.close();
    } finally {
      samples.close();
    }
  }
}
