package ai.cory.driver.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.config.Settings;
import ai.cory.driver.train.TinyImdbRun;
import ai.cory.driver.train.TrainingLoop;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The training gauges in Spark's metrics system, scraped as Prometheus does: a real run with
 * Spark's Prometheus servlet switched on by Spark's own settings, {@code /metrics/prometheus}
 * read over HTTP after each iteration (while the run goes on), every value equal to that
 * iteration's line of {@code metrics.jsonl}.
 */
final class PrometheusMetricsTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern GAUGE = Pattern.compile(
      "^metrics_.+_driver_plugin_ai_cory_driver_metrics_CoryMetricsPlugin_(.+)_Value\\{type=\"gauges\"} (\\S+)$");
  private static final Path REPO = Path.of("..").toAbsolutePath().normalize();
  /** Spark's own settings: the UI, and the shipped conf/metrics.properties (Prometheus servlet, JMX). */
  private static final Map<String, String> SPARK_SETTINGS = Map.of(
      "spark.ui.enabled", "true",
      "spark.ui.port", "0", // any free port; the test asks the context for its URL
      "spark.metrics.conf", REPO.resolve("conf/metrics.properties").toString());
  private static final Pattern DASHBOARD_METRIC = Pattern.compile("__name__=~\\\"([^\\\"]+)\\\"");

  /** Reads the driver's Prometheus page whenever the run prints an iteration's progress line. */
  private static final class Scraper extends PrintStream {
    final List<Map<String, Double>> scrapes = new ArrayList<>();
    final List<String> names = new ArrayList<>();
    private final HttpClient http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NORMAL).build();

    Scraper() {
      super(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    }

    @Override
    public void println(String line) {
      super.println(line);
      if (line.startsWith("iter ")) {
        scrapes.add(scrape());
      }
    }

    private Map<String, Double> scrape() {
      String ui = SparkSession.getDefaultSession().get().sparkContext().uiWebUrl().get();
      try {
        HttpResponse<String> page = http.send(HttpRequest.newBuilder(URI.create(ui + "/metrics/prometheus")).build(),
            HttpResponse.BodyHandlers.ofString());
        assertEquals(200, page.statusCode(), page.body());
        Map<String, Double> gauges = new HashMap<>();
        for (String l : page.body().split("\n")) {
          Matcher m = GAUGE.matcher(l);
          names.add(l.split("[{ ]", 2)[0]);
          if (m.matches()) {
            gauges.put(m.group(1), Double.parseDouble(m.group(2)));
          }
        }
        return gauges;
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
  }

  @Test
  void prometheusServletCarriesTheGaugesOfEachIteration(@TempDir Path dir) throws Exception {
    Path config = dir.resolve("run.conf");
    Files.writeString(config, TinyImdbRun.config() + "cory.workers = 2\ncory.runtime.checkpoint-every = 1\n");
    Path runDir = dir.resolve("run");
    Settings settings = Settings.load(config, List.of("run.dir=\"" + runDir + "\""));
    Map<String, String> before = new HashMap<>();
    SPARK_SETTINGS.forEach((k, v) -> before.put(k, System.setProperty(k, v)));
    Scraper scraper = new Scraper();
    try {
      TrainingLoop.run(settings, runDir, scraper);
    } finally {
      before.forEach((k, v) -> {
        if (v == null) {
          System.clearProperty(k);
        } else {
          System.setProperty(k, v);
        }
      });
    }

    List<String> lines = Files.readAllLines(runDir.resolve("metrics.jsonl"));
    assertEquals(2, lines.size());
    assertEquals(2, scraper.scrapes.size(), "one scrape per iteration");
    for (int k = 0; k < lines.size(); k++) {
      JsonNode row = JSON.readTree(lines.get(k));
      Map<String, Double> gauges = scraper.scrapes.get(k);
      assertEquals(k, gauges.get("run_iteration"), "iteration");
      assertEquals(2.0, gauges.get("run_iterations"));
      assertEquals(row.get("generation_length").asDouble(), gauges.get("run_generation_length"));
      assertEquals(row.get("roles_exchanged").asBoolean() ? 1.0 : 0.0, gauges.get("run_roles_exchanged"));
      String pioneer = row.get("pioneer").asText();
      assertEquals(1.0, gauges.get("agent_" + pioneer + "_pioneer"));
      assertEquals(0.0, gauges.get("agent_" + (pioneer.equals("A") ? "B" : "A") + "_pioneer"));
      assertEquals(k, gauges.get("checkpoint_last_committed_iteration"), "a checkpoint after every iteration");
      assertEquals(1.0, gauges.get("replicas_identical"));
      assertTrue(gauges.get("run_tokens_per_second") > 0, "tokens/s " + gauges.get("run_tokens_per_second"));
      int compared = 0;
      for (Iterator<Map.Entry<String, JsonNode>> it = row.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        if (!e.getValue().isNumber() || e.getKey().equals("iteration") || e.getKey().equals("generation_length")) {
          continue;
        }
        for (String name : TrainingGauges.gaugeNames(e.getKey())) {
          String prometheus = name.replaceAll("[^a-zA-Z0-9]", "_");
          Double scraped = gauges.get(prometheus);
          assertNotNull(scraped, "no gauge " + prometheus + " for " + e.getKey() + " in iteration " + k);
          assertEquals(e.getValue().asDouble(), scraped, 0.0, e.getKey() + " in iteration " + k);
          compared++;
        }
      }
      // both agents' TRL statistics per agent and per role, the collective reward, the time split
      assertTrue(compared > 100, "compared " + compared + " gauges");
      assertEquals(row.get("A/" + (pioneer.equals("A") ? "pioneer" : "observer") + "/env/reward_mean").asDouble(),
          gauges.get("agent_A_env_reward_mean"));
      assertEquals(row.get("env/reward_collective").asDouble(), gauges.get("env_reward_collective"));
      assertEquals(row.get("time/train").asDouble(), gauges.get("time_train"));
    }

    // every query of the shipped Grafana dashboard finds its gauge
    JsonNode dashboard = JSON.readTree(REPO.resolve("deploy/grafana/cory-training.json").toFile());
    int queries = 0;
    for (JsonNode panel : dashboard.get("panels")) {
      for (JsonNode target : panel.get("targets")) {
        Matcher m = DASHBOARD_METRIC.matcher(target.get("expr").asText());
        assertTrue(m.find(), target.toString());
        Pattern name = Pattern.compile(m.group(1));
        assertTrue(scraper.names.stream().anyMatch(n -> name.matcher(n).matches()),
            panel.get("title").asText() + ": no scraped metric matches " + m.group(1));
        queries++;
      }
    }
    assertTrue(queries >= 20, "queries " + queries);
  }
}
