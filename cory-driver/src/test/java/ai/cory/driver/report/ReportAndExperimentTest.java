package ai.cory.driver.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.io.LocalFileSource;
import ai.cory.common.metrics.RunFiles;
import ai.cory.driver.cli.ExperimentCommand;
import ai.cory.driver.cli.ReportCommand;
import ai.cory.driver.experiment.ExperimentRunner;
import ai.cory.driver.train.TinyImdbRun;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.sql.SparkSession;
import org.jfree.data.xy.YIntervalSeriesCollection;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bin/cory experiment} and {@code bin/cory report} end to end on a tiny grid of real runs
 * (stories260K, IMDB sample, 2 iterations of batch 4; CORY and PPO, two seeds): the grid's
 * directories and its re-run skipping them, the summary against numbers read straight from
 * {@code metrics.jsonl}, the figures' data points against the same, and the page rendered by a
 * real headless Chromium with every figure loaded.
 */
final class ReportAndExperimentTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static SparkSession spark;
  @TempDir
  static Path dir;
  private static Path experiment;
  private static String firstProgress;

  @BeforeAll
  static void runGrid() throws Exception {
    spark = SparkSession.builder().master("local[1]").appName("cory-test")
        .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1").getOrCreate();
    Path config = dir.resolve("run.conf");
    Files.writeString(config, TinyImdbRun.config() + "cory.run.export-final = false\n");
    experiment = dir.resolve("exp");
    firstProgress = experiment("--config", config.toString(), "--out", experiment.toString(), "--modes", "cory,ppo",
        "--seeds", "5,6", "--kl-coefs", "0.05");
  }

  @AfterAll
  static void stopSpark() {
    if (spark != null) {
      spark.stop();
    }
  }

  private static String experiment(String... argv) throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
      assertEquals(0, new ExperimentCommand().run(argv, out));
    }
    return bytes.toString(StandardCharsets.UTF_8);
  }

  private static Path run(String name) {
    return experiment.resolve(ExperimentRunner.RUNS).resolve(name);
  }

  private static List<JsonNode> metrics(Path runDir) throws IOException {
    List<JsonNode> rows = new ArrayList<>();
    for (String line : Files.readAllLines(runDir.resolve("metrics.jsonl"))) {
      rows.add(JSON.readTree(line));
    }
    return rows;
  }

  /** Agent {@code agent}'s task reward at each iteration, whichever role it had, straight from the file. */
  private static double[] reward(Path runDir, String agent) throws IOException {
    List<JsonNode> rows = metrics(runDir);
    double[] out = new double[rows.size()];
    for (int i = 0; i < out.length; i++) {
      JsonNode row = rows.get(i);
      JsonNode v = row.has(agent + "/pioneer/env/reward_mean") ? row.get(agent + "/pioneer/env/reward_mean")
          : row.get(agent + "/observer/env/reward_mean");
      out[i] = v.asDouble();
    }
    return out;
  }

  @Test
  void theGridRunsEveryCombinationOnceAndARerunSkipsThem() throws Exception {
    for (String name : List.of("cory-kl0.05-s5", "ppo-kl0.05-s5", "cory-kl0.05-s6", "ppo-kl0.05-s6")) {
      assertTrue(Files.exists(run(name).resolve(RunFiles.FINISHED)), name);
      assertEquals(2, metrics(run(name)).size(), name);
      assertTrue(Files.exists(run(name).resolve(RunReport.HTML)), "every run writes its report: " + name);
    }
    assertEquals("0.05", metrics(run("ppo-kl0.05-s6")).get(0).get("A/pioneer/objective/kl_coef").asText());
    assertTrue(firstProgress.contains("[4/4] ppo-kl0.05-s6"), firstProgress);
    String again = experiment("--config", dir.resolve("run.conf").toString(), "--out", experiment.toString(),
        "--modes", "cory,ppo", "--seeds", "5,6", "--kl-coefs", "0.05");
    assertEquals(4, again.split("finished before, skipped", -1).length - 1, again);
  }

  @Test
  void theSummaryIsTheMeanAndStdOverSeedsOfTheFinalValues() throws Exception {
    // two iterations < RunSummary.TAIL: "final" is the mean over both; CORY's over both agents
    double[] finals = new double[2];
    int i = 0;
    for (String seed : List.of("5", "6")) {
      double sum = 0;
      for (String agent : List.of("A", "B")) {
        for (double r : reward(run("cory-kl0.05-s" + seed), agent)) {
          sum += r;
        }
      }
      finals[i++] = sum / 4;
    }
    double mean = (finals[0] + finals[1]) / 2;
    double std = Math.abs(finals[0] - finals[1]) / Math.sqrt(2);
    List<String> tsv = Files.readAllLines(experiment.resolve(ExperimentRunner.SUMMARY_TSV));
    String[] cory = tsv.stream().filter(l -> l.startsWith("cory-kl0.05\t")).findFirst().orElseThrow().split("\t");
    assertEquals("2", cory[1]);
    assertEquals("5,6", cory[2]);
    assertEquals(mean, Double.parseDouble(cory[3]), 1e-4);
    assertEquals(std, Double.parseDouble(cory[4]), 1e-4);
    assertTrue(tsv.stream().anyMatch(l -> l.startsWith("ppo-kl0.05\t2\t5,6\t")), tsv.toString());
    assertTrue(Files.exists(experiment.resolve("frontier.png")));
    assertTrue(Files.readString(experiment.resolve(RunReport.HTML)).contains("frontier.png"));
  }

  @Test
  void aFiguresDataPointsAreTheValuesInMetricsJsonl() throws Exception {
    Path s5 = run("cory-kl0.05-s5");
    Path s6 = run("cory-kl0.05-s6");
    RunData one = RunData.read(s5.toString(), new LocalFileSource(s5));
    YIntervalSeriesCollection single = dataset(List.of(one), "reward_agent.png");
    double[] a = reward(s5, "A");
    double[] b = reward(s5, "B");
    assertEquals(List.of("A", "B"), List.of(single.getSeriesKey(0), single.getSeriesKey(1)));
    for (int k = 0; k < a.length; k++) {
      assertEquals(k, single.getXValue(0, k), 0.0);
      assertEquals(a[k], single.getYValue(0, k), 0.0);
      assertEquals(b[k], single.getYValue(1, k), 0.0);
      assertEquals(a[k], single.getStartYValue(0, k), 0.0, "one run: no band");
    }
    // two seeds of one setup: one curve per agent, the mean with a +-1 std band
    RunData two = RunData.read(s6.toString(), new LocalFileSource(s6));
    YIntervalSeriesCollection grouped = dataset(List.of(one, two), "reward_agent.png");
    assertEquals(2, grouped.getSeriesCount());
    double[] a6 = reward(s6, "A");
    for (int k = 0; k < a.length; k++) {
      double mean = (a[k] + a6[k]) / 2;
      double std = Math.abs(a[k] - a6[k]) / Math.sqrt(2);
      assertEquals(mean, grouped.getYValue(0, k), 1e-12);
      assertEquals(mean - std, grouped.getStartYValue(0, k), 1e-12);
      assertEquals(mean + std, grouped.getEndYValue(0, k), 1e-12);
    }
    // role exchange after every iteration (T = 1): marked between iterations
    assertEquals(List.of(0.5, 1.5), ReportFigures.exchanges(RunGroup.of(List.of(one))));
  }

  private static YIntervalSeriesCollection dataset(List<RunData> runs, String file) {
    return (YIntervalSeriesCollection) ReportFigures.of(RunGroup.of(runs)).stream()
        .filter(f -> f.file().equals(file)).findFirst().orElseThrow().chart().getXYPlot().getDataset();
  }

  @Test
  void everyFigureLoadsInAHeadlessBrowser() throws Exception {
    Path out = dir.resolve("report");
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    assertEquals(0, new ReportCommand().run(new String[] {run("cory-kl0.05-s5").toString(),
        run("ppo-kl0.05-s5").toString(), "--out", out.toString()}, new PrintStream(bytes, true)));
    List<Path> pngs;
    try (var files = Files.list(out)) {
      pngs = files.filter(p -> p.toString().endsWith(".png")).toList();
    }
    assertTrue(pngs.size() >= 10, pngs.toString());
    String dom = HeadlessChromium.dumpDom(out.resolve(RunReport.HTML));
    Matcher img = Pattern.compile("<img[^>]*data-figure=\"([^\"]+)\"[^>]*>").matcher(dom);
    int figures = 0;
    while (img.find()) {
      figures++;
      assertTrue(img.group().contains("data-loaded=\"true\""), "figure did not load: " + img.group());
    }
    assertEquals(pngs.size(), figures, dom);
    assertTrue(dom.contains("cory-kl0.05-s5") && dom.contains("ppo-kl0.05-s5"));

    // the check can fail: a figure that is not there reports so
    Files.delete(out.resolve("kl_agent.png"));
    String broken = HeadlessChromium.dumpDom(out.resolve(RunReport.HTML));
    assertTrue(Pattern.compile("<img[^>]*data-figure=\"kl_agent.png\"[^>]*data-loaded=\"false\"").matcher(broken)
        .find() || Pattern.compile("<img[^>]*data-loaded=\"false\"[^>]*data-figure=\"kl_agent.png\"")
        .matcher(broken).find(), broken);
  }
}
