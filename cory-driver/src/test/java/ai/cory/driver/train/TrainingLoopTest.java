package ai.cory.driver.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.config.Settings;
import ai.cory.common.config.SettingsException;
import ai.cory.common.io.LocalFileSource;
import ai.cory.common.model.CausalLm;
import ai.cory.common.model.ParamLayout;
import ai.cory.common.testing.SharedAssets;
import ai.cory.driver.cli.Args;
import ai.cory.driver.cli.TrainCommand;
import ai.cory.worker.store.StoreLease;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * {@code bin/cory train} end to end with one worker (the distributed loop on a local Spark
 * session) on the shared stories260K model, IMDB sample and bag-of-words reward (2 iterations,
 * batch 4): files written, same seed -> same metrics, the PPO baseline on
 * the same config, and bad input failing before training with a clear message.
 */
final class TrainingLoopTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static SparkSession spark;

  /** One local Spark session for the class: every run joins it instead of starting its own. */
  @BeforeAll
  static void startSpark() {
    spark = SparkSession.builder().master("local[1]").appName("cory-test")
        .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1").getOrCreate();
  }

  @AfterAll
  static void stopSpark() {
    spark.stop();
  }

  private static String baseConfig() {
    return TinyImdbRun.config();
  }

  private static Path writeConfig(Path dir, String text) throws IOException {
    Path file = dir.resolve("run.conf");
    Files.writeString(file, text);
    return file;
  }

  /** Runs {@code bin/cory train} in-process; returns stdout. */
  private static String train(String... argv) throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
      assertEquals(0, new TrainCommand().run(argv, out));
    }
    return bytes.toString(StandardCharsets.UTF_8);
  }

  private static List<JsonNode> metrics(Path runDir) throws IOException {
    List<JsonNode> out = new ArrayList<>();
    for (String line : Files.readAllLines(runDir.resolve(MetricsLog.METRICS_FILE))) {
      ObjectNode o = (ObjectNode) JSON.readTree(line);
      o.remove(List.copyOf(iterable(o)).stream().filter(k -> k.startsWith("time/")).toList());
      out.add(o);
    }
    return out;
  }

  private static List<String> iterable(JsonNode o) {
    List<String> names = new ArrayList<>();
    o.fieldNames().forEachRemaining(names::add);
    return names;
  }

  @Test
  void coryRunWritesItsFilesAndTheSameSeedGivesTheSameMetrics(@TempDir Path dir) throws Exception {
    Path config = writeConfig(dir, baseConfig());
    Path run1 = dir.resolve("run1");
    String progress = train("--config", config.toString(), "--run-dir", run1.toString());
    assertTrue(progress.contains("iter   1/2"), progress);
    assertTrue(progress.contains("A pioneer reward") && progress.contains("B observer reward"), progress);
    assertTrue(progress.contains("roles exchanged"), "T = 1 exchanges after every iteration: " + progress);
    assertTrue(progress.matches("(?s).*iter   1/2 .* tok/s, ETA \\d+s.*iter   2/2 .* tok/s, ETA 0s.*"), progress);

    List<JsonNode> m1 = metrics(run1);
    assertEquals(2, m1.size());
    JsonNode first = m1.get(0);
    assertEquals("A", first.get("pioneer").asText());
    assertEquals("B", m1.get(1).get("pioneer").asText());
    for (String name : List.of("env/reward_mean", "env/reward_collective", "objective/kl", "objective/kl_coef",
        "objective/combined", "ppo/loss/policy", "ppo/loss/value", "ppo/loss/total", "ppo/policy/clipfrac",
        "ppo/policy/approxkl", "ppo/policy/entropy", "ppo/returns/mean", "ppo/val/mean",
        "tokens/responses_len_mean")) {
      assertTrue(first.has("A/pioneer/" + name), name);
      assertTrue(first.has("B/observer/" + name), name);
      assertTrue(m1.get(1).has("B/pioneer/" + name), name);
    }
    JsonNode raw = JSON.readTree(Files.readAllLines(run1.resolve(MetricsLog.METRICS_FILE)).get(0));
    for (String t : List.of("time/rollout", "time/reward", "time/train", "time/sync")) {
      assertTrue(raw.get(t).asDouble() >= 0, t);
    }
    assertEquals(2, Files.readAllLines(run1.resolve(MetricsLog.SAMPLES_FILE)).size());

    // the resolved config reads back to the same settings (with the run directory recorded)
    Settings resolved = Settings.parse(Files.readString(run1.resolve(TrainingLoop.RESOLVED_CONFIG)));
    assertEquals(run1.toString(), resolved.run().dir());
    assertEquals(Settings.load(config, List.of("run.dir=\"" + run1 + "\"")), resolved);

    // exported agents load back as Hugging Face models with their value heads
    for (String agent : List.of("A", "B")) {
      Path exported = run1.resolve("final").resolve(agent);
      assertTrue(Files.isRegularFile(exported.resolve("tokenizer.json")));
      CausalLm back = CausalLm.load(new LocalFileSource(exported), DataType.FLOAT, 99);
      assertFalse(back.params().get(ParamLayout.VALUE_BIAS).getDouble(0) == 0.0, "value head stored");
    }

    Path run2 = dir.resolve("run2");
    train("--config", config.toString(), "--run-dir", run2.toString());
    assertEquals(m1, metrics(run2), "same seed and settings, same metrics");

    Path run3 = dir.resolve("run3");
    train("--config", config.toString(), "--run-dir", run3.toString(), "run.seed=6");
    assertFalse(m1.equals(metrics(run3)), "another seed, other numbers");
  }

  @Test
  void ppoBaselineRunsOnTheSameConfig(@TempDir Path dir) throws Exception {
    Path config = writeConfig(dir, baseConfig());
    Path run = dir.resolve("ppo");
    String progress = train("--config", config.toString(), "--run-dir", run.toString(), "algorithm.mode=ppo",
        "run.export-final=false");
    List<JsonNode> m = metrics(run);
    assertEquals(2, m.size());
    for (JsonNode it : m) {
      assertEquals("A", it.get("pioneer").asText());
      assertTrue(iterable(it).stream().noneMatch(k -> k.startsWith("B/")));
      assertEquals(it.get("A/pioneer/env/reward_mean").asDouble(), it.get("env/reward_collective").asDouble(), 1e-12);
    }
    assertFalse(progress.contains("observer"), progress);
    assertFalse(Files.exists(run.resolve("final")));

    // submitted again: finished, nothing done (exit 0, the logs untouched)
    String metricsBefore = Files.readString(run.resolve(MetricsLog.METRICS_FILE));
    String again = train("--config", config.toString(), "--run-dir", run.toString(), "algorithm.mode=ppo",
        "run.export-final=false");
    assertTrue(again.contains("run already finished") && again.contains("2 iteration(s) of 2"), again);
    assertFalse(again.contains("iter "), again);
    assertEquals(metricsBefore, Files.readString(run.resolve(MetricsLog.METRICS_FILE)));
  }

  @Test
  void unknownKeysAndBadArgumentsFailBeforeLoading(@TempDir Path dir) throws Exception {
    Path config = writeConfig(dir, baseConfig() + "cory.ppo.minibatch-size = 2\n");
    SettingsException e = assertThrows(SettingsException.class,
        () -> train("--config", config.toString(), "--run-dir", dir.resolve("x").toString()));
    assertEquals("cory.ppo.minibatch-size", e.path());
    assertTrue(e.getMessage().contains("run.conf: 9"), e.getMessage());
    assertFalse(Files.exists(dir.resolve("x")), "nothing written");
    Path good = writeConfig(dir, baseConfig());
    assertThrows(Args.UsageException.class, () -> train("--config", good.toString(), "no-equals"));
    assertThrows(Args.UsageException.class, () -> train("--conf", good.toString())); // no such option
    assertEquals("cory.ppo.kl-penalty", assertThrows(SettingsException.class,
        () -> train("--config", good.toString(), "ppo.kl-penalty=huge")).path());
  }

  @Test
  void theStoreKeepsTheLogsSoARunResumedWithoutItsRunDirectoryContinuesThem(@TempDir Path dir) throws Exception {
    Path config = writeConfig(dir, baseConfig());
    Path store = dir.resolve("store");
    Path run = dir.resolve("run");
    String storeSetting = "run.store=\"" + store + "\"";
    train("--config", config.toString(), "--run-dir", run.toString(), storeSetting, "run.export-final=false");
    List<String> lines = Files.readAllLines(run.resolve(MetricsLog.METRICS_FILE));
    assertEquals(lines, Files.readAllLines(store.resolve(MetricsLog.METRICS_FILE)));
    for (String f : List.of(TrainingLoop.RESOLVED_CONFIG, MetricsLog.SAMPLES_FILE, TrainingLoop.REPLICAS_FILE,
        "finished.json", "report.html", "reward_agent.png")) {
      assertTrue(Files.isRegularFile(store.resolve(f)), f);
    }

    // the driver's host is gone with its run directory; the run is resubmitted for one more iteration
    try (var files = Files.walk(run)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
    String out = train("--config", config.toString(), "--run-dir", run.toString(), storeSetting,
        "run.export-final=false", "run.iterations=3");
    assertTrue(out.contains("restored") && out.contains("resuming after iteration 1"), out);
    List<String> continued = Files.readAllLines(run.resolve(MetricsLog.METRICS_FILE));
    assertEquals(3, continued.size());
    assertEquals(lines, continued.subList(0, 2), "the same log, continued");
    assertEquals(continued, Files.readAllLines(store.resolve(MetricsLog.METRICS_FILE)));
  }

  @Test
  void aStoreHeldByAnotherRunIsRefusedBeforeAnythingIsWritten(@TempDir Path dir) throws Exception {
    Path config = writeConfig(dir, baseConfig());
    Path run = dir.resolve("held");
    try (StoreLease other = StoreLease.acquire(run.toUri().toString(), new Configuration(), "other-run",
        "elsewhere, pid 7", 60_000)) {
      IOException e = assertThrows(IOException.class,
          () -> train("--config", config.toString(), "--run-dir", run.toString()));
      assertTrue(e.getMessage().contains("the store is in use") && e.getMessage().contains("other-run"),
          e.getMessage());
      assertFalse(Files.exists(run.resolve(MetricsLog.METRICS_FILE)), "nothing written");
      assertFalse(Files.exists(run.resolve(TrainingLoop.RESOLVED_CONFIG)), "nothing written");
    }
  }

  @Test
  void malformedRewardFileNamesItsLine(@TempDir Path dir) throws Exception {
    Path tsv = dir.resolve("bad.tsv");
    Files.writeString(tsv, "#bias\t0.1\ngood\t1.5\nbad line without tab\n");
    Path config = writeConfig(dir, baseConfig() + "cory.reward.path = \"" + tsv + "\"\n");
    Exception e = assertThrows(Exception.class, () -> train("--config", config.toString(), "--run-dir",
        dir.resolve("r").toString()));
    String message = describe(e);
    assertTrue(message.contains("bad.tsv") && message.contains("line 3"), message);
  }

  @Test
  void emptyDatasetFailsClearly(@TempDir Path dir) throws Exception {
    Path empty = dir.resolve("empty.jsonl");
    Files.writeString(empty, "");
    Path config = writeConfig(dir, baseConfig() + "cory.task.data = \"" + empty + "\"\n");
    String message = describe(assertThrows(Exception.class,
        () -> train("--config", config.toString(), "--run-dir", dir.resolve("r").toString())));
    assertTrue(message.contains("cory.task.data") && message.contains("empty.jsonl"), message);

    Path tooFew = dir.resolve("short.jsonl");
    Files.writeString(tooFew, "{\"split\": \"train\", \"text\": \"" + "A fine film. ".repeat(20) + "\"}\n");
    Path config2 = writeConfig(dir, baseConfig() + "cory.task.data = \"" + tooFew + "\"\n");
    message = describe(assertThrows(Exception.class,
        () -> train("--config", config2.toString(), "--run-dir", dir.resolve("r2").toString())));
    assertTrue(message.contains("1 usable examples, fewer than cory.ppo.batch-size = 4"), message);
  }

  @Test
  void promptLongerThanTheContextFailsBeforeTraining(@TempDir Path dir) throws Exception {
    // tiny-gpt2 has 128 positions; GSM8K's one-shot prompt alone is about 100 tokens
    Path config = writeConfig(dir, String.join("\n",
        "cory.model.path = \"" + SharedAssets.model("tiny-gpt2") + "\"",
        "cory.task { type = gsm8k, data = \"" + SharedAssets.path("assets/data/gsm8k/test.jsonl") + "\" }",
        "cory.reward.type = gsm8k-exact-match",
        "cory.generation { min-new-tokens = 32, max-new-tokens = 32 }",
        "cory.ppo { batch-size = 4, mini-batch-size = 2 }", ""));
    String message = describe(assertThrows(Exception.class,
        () -> train("--config", config.toString(), "--run-dir", dir.resolve("r").toString())));
    assertTrue(message.contains("exceeds the model's context of 128"), message);
    assertTrue(message.contains("test.jsonl"), message);
  }

  private static String describe(Throwable e) {
    StringBuilder sb = new StringBuilder();
    for (Throwable t = e; t != null; t = t.getCause()) {
      sb.append(t.getMessage()).append(" | ");
    }
    return sb.toString();
  }
}
