package ai.cory.driver.report;

import ai.cory.common.cory.AgentId;
import ai.cory.common.cory.Role;
import ai.cory.common.io.FileSource;
import ai.cory.common.metrics.MetricNames;
import ai.cory.common.metrics.RunFiles;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValue;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One run as its directory holds it: the resolved settings ({@code config.conf}), one row per
 * iteration of {@code metrics.jsonl} and of {@code samples.jsonl}. A run still training reads as
 * far as it got (a partly written last line is ignored), so a report can be drawn mid-run.
 *
 * @param name     a short name (the directory's last path segment)
 * @param location where it was read from, as the user gave it
 * @param config   the run's resolved settings (the {@code cory} tree), empty when absent
 * @param metrics  {@code metrics.jsonl}, in file order
 * @param samples  {@code samples.jsonl}, in file order (empty when absent)
 */
public record RunData(String name, String location, Config config, List<JsonNode> metrics, List<JsonNode> samples) {
  /** Settings that name a run rather than configure it: runs differing only here are seeds of one setup. */
  static final List<String> NOT_SETUP = List.of("run.seed", "run.dir", "run.store", "run.id");
  private static final ObjectMapper JSON = new ObjectMapper();

  public RunData {
    metrics = List.copyOf(metrics);
    samples = List.copyOf(samples);
  }

  /**
   * Reads a run directory.
   *
   * @throws IOException when it holds no {@code metrics.jsonl}, or a line before the last does
   *                     not parse
   */
  public static RunData read(String location, FileSource dir) throws IOException {
    if (!dir.exists(RunFiles.METRICS)) {
      throw new IOException("not a run directory (no " + RunFiles.METRICS + "): " + dir.describe(""));
    }
    Config config = ConfigFactory.empty();
    if (dir.exists(RunFiles.CONFIG)) {
      try (InputStream in = dir.open(RunFiles.CONFIG, 0)) {
        Config all = ConfigFactory.parseString(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        config = all.hasPath("cory") ? all.getConfig("cory") : all;
      }
    }
    List<JsonNode> metrics = jsonLines(dir, RunFiles.METRICS);
    List<JsonNode> samples = dir.exists(RunFiles.SAMPLES) ? jsonLines(dir, RunFiles.SAMPLES)
        : List.of();
    String trimmed = location.replaceAll("/+$", "");
    String name = trimmed.substring(trimmed.lastIndexOf('/') + 1);
    return new RunData(name.isEmpty() ? location : name, location, config, metrics, samples);
  }

  private static List<JsonNode> jsonLines(FileSource dir, String file) throws IOException {
    List<String> lines = new ArrayList<>();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(dir.open(file, 0), StandardCharsets.UTF_8))) {
      for (String line = r.readLine(); line != null; line = r.readLine()) {
        if (!line.isBlank()) {
          lines.add(line);
        }
      }
    }
    List<JsonNode> rows = new ArrayList<>(lines.size());
    for (int i = 0; i < lines.size(); i++) {
      try {
        rows.add(JSON.readTree(lines.get(i)));
      } catch (IOException e) {
        if (i == lines.size() - 1) { // the line a live run is writing
          break;
        }
        throw new IOException(dir.describe(file) + " line " + (i + 1) + " is not JSON: " + e.getMessage(), e);
      }
    }
    return rows;
  }

  /** Iterations logged. */
  public int size() {
    return metrics.size();
  }

  /** The iteration number of row {@code i}. */
  public long iteration(int i) {
    return metrics.get(i).path("iteration").asLong(i);
  }

  /** {@code cory.algorithm.mode} ({@code cory} or {@code ppo}), {@code ?} when unknown. */
  public String mode() {
    return config.hasPath("algorithm.mode") ? config.getString("algorithm.mode") : "?";
  }

  /** {@code cory.run.seed}, or -1 when unknown. */
  public long seed() {
    return config.hasPath("run.seed") ? config.getLong("run.seed") : -1;
  }

  /** A setting as text, or null when the run's config does not have it. */
  public String setting(String path) {
    if (!config.hasPath(path)) {
      return null;
    }
    ConfigValue v = config.getValue(path);
    Object raw = v.unwrapped();
    return raw instanceof String s ? s : v.render(ConfigRenderOptions.concise());
  }

  /** Every leaf setting but those naming the run ({@link #NOT_SETUP}), sorted: equal for seeds of one setup. */
  public Map<String, String> setup() {
    Map<String, String> out = new TreeMap<>();
    for (Map.Entry<String, ConfigValue> e : config.entrySet()) {
      if (!NOT_SETUP.contains(e.getKey())) {
        out.put(e.getKey(), setting(e.getKey()));
      }
    }
    return out;
  }

  /** The agents the run logs (A, or A and B), in order. */
  public List<AgentId> agents() {
    List<AgentId> out = new ArrayList<>();
    for (AgentId a : AgentId.values()) {
      if (!metrics.isEmpty() && (has(0, MetricNames.ofAgent(a.key(), Role.PIONEER.key(), MetricNames.KL))
          || has(0, MetricNames.ofAgent(a.key(), Role.OBSERVER.key(), MetricNames.KL)))) {
        out.add(a);
      }
    }
    return out;
  }

  /** The roles the run logs (pioneer, or pioneer and observer). */
  public List<Role> roles() {
    List<Role> out = new ArrayList<>();
    for (Role r : Role.values()) {
      for (AgentId a : AgentId.values()) {
        if (!metrics.isEmpty() && has(0, MetricNames.ofAgent(a.key(), r.key(), MetricNames.KL)) && !out.contains(r)) {
          out.add(r);
        }
      }
    }
    return out;
  }

  private boolean has(int row, String key) {
    return metrics.get(row).has(key);
  }

  /** An iteration-wide metric of row {@code i}, NaN when absent or null. */
  public double value(int i, String key) {
    JsonNode v = metrics.get(i).get(key);
    return v == null || !v.isNumber() ? Double.NaN : v.asDouble();
  }

  /** Agent {@code agent}'s metric {@code name} at row {@code i}, whichever role it had. */
  public double ofAgent(int i, AgentId agent, String name) {
    for (Role r : Role.values()) {
      double v = value(i, MetricNames.ofAgent(agent.key(), r.key(), name));
      if (!Double.isNaN(v)) {
        return v;
      }
    }
    return Double.NaN;
  }

  /** The metric {@code name} of whichever agent had role {@code role} at row {@code i}. */
  public double ofRole(int i, Role role, String name) {
    for (AgentId a : AgentId.values()) {
      double v = value(i, MetricNames.ofAgent(a.key(), role.key(), name));
      if (!Double.isNaN(v)) {
        return v;
      }
    }
    return Double.NaN;
  }

  /** True when the roles were exchanged after row {@code i}'s iteration. */
  public boolean exchangedAfter(int i) {
    return metrics.get(i).path("roles_exchanged").asBoolean(false);
  }
}
