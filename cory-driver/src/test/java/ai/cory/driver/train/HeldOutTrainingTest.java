package ai.cory.driver.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.config.Settings;
import ai.cory.common.testing.SharedAssets;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code cory.eval} during training: held-out measures per agent in the evaluating iterations,
 * the training itself unchanged by them, and two workers giving the measures of one.
 */
final class HeldOutTrainingTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static Path config(Path dir) throws Exception {
    // a held-out file of its own: 12 reviews of the sample, marked as the test split
    List<String> heldOut = new ArrayList<>();
    List<String> sample = Files.readAllLines(SharedAssets.path("assets/data/imdb/imdb_sample_1000.jsonl"));
    for (String line : sample.subList(sample.size() - 12, sample.size())) {
      ObjectNode o = (ObjectNode) JSON.readTree(line);
      o.put("split", "test");
      heldOut.add(JSON.writeValueAsString(o));
    }
    Path test = dir.resolve("held-out.jsonl");
    Files.write(test, heldOut);
    Path config = dir.resolve("run.conf");
    Files.writeString(config, TinyImdbRun.config() + String.join("\n",
        "cory.run { iterations = 3, export-final = false }",
        "cory.eval { every = 2, prompts = 10, data = \"" + test + "\" }",
        ""));
    return config;
  }

  private static List<JsonNode> train(Path config, Path runDir, String... overrides) throws Exception {
    Settings s = Settings.load(config, concat(List.of(overrides), "run.dir=\"" + runDir + "\""));
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    TrainingLoop.run(s, runDir, new PrintStream(bytes, true, StandardCharsets.UTF_8));
    List<JsonNode> rows = new ArrayList<>();
    for (String line : Files.readAllLines(runDir.resolve("metrics.jsonl"))) {
      rows.add(JSON.readTree(line));
    }
    return rows;
  }

  private static List<String> concat(List<String> a, String b) {
    List<String> out = new ArrayList<>(a);
    out.add(b);
    return out;
  }

  /** The row without timings and held-out measures: what training alone decides. */
  private static JsonNode training(JsonNode row) {
    ObjectNode o = row.deepCopy();
    for (Iterator<String> it = row.fieldNames(); it.hasNext(); ) {
      String k = it.next();
      if (k.startsWith("time/") || k.startsWith("eval/")) {
        o.remove(k);
      }
    }
    return o;
  }

  @Test
  void heldOutMeasuresAreLoggedWithoutChangingTrainingAndDoNotDependOnWorkers(@TempDir Path dir) throws Exception {
    Path config = config(dir);
    List<JsonNode> one = train(config, dir.resolve("w1"));
    assertEquals(3, one.size());
    assertFalse(one.get(0).has("eval/A/reward_mean"), "iteration 0: (0 + 1) % 2 != 0");
    for (int k : new int[] {1, 2}) { // every 2nd iteration, and the last
      for (String agent : List.of("A", "B")) {
        for (String m : List.of("reward_mean", "reward_std", "kl", "entropy_per_token", "distinct-1", "distinct-2",
            "self-bleu", "response_len_mean")) {
          assertTrue(one.get(k).has("eval/" + agent + "/" + m), k + " " + agent + " " + m);
        }
        assertEquals(10, one.get(k).get("eval/" + agent + "/prompts").asInt());
      }
      assertTrue(one.get(k).get("time/eval").asDouble() > 0);
    }
    assertTrue(one.get(2).get("eval/A/kl").asDouble() != 0, "trained agents have moved from the reference");

    List<JsonNode> off = train(config, dir.resolve("off"), "eval.every=0");
    for (int k = 0; k < 3; k++) {
      assertEquals(training(off.get(k)), training(one.get(k)), "iteration " + k + ": training unchanged");
    }

    // the distributed sampling itself: with the agents held still (a learning rate of 1e-30 moves
    // no float32 weight of order 1e-3..1), W = 2 gives W = 1's measures to the bit, and an agent
    // equal to its reference has KL 0. (Trained, the W = 2 agents differ from W = 1's by float
    // rounding, SparkTrainingTest's 1e-4, which may flip a sampled token.)
    List<JsonNode> still1 = train(config, dir.resolve("still1"), "ppo.learning-rate=1e-30");
    List<JsonNode> still2 = train(config, dir.resolve("still2"), "ppo.learning-rate=1e-30", "workers=2");
    for (int k = 1; k < 3; k++) {
      int measures = 0;
      for (Iterator<String> it = still1.get(k).fieldNames(); it.hasNext(); ) {
        String name = it.next();
        if (name.startsWith("eval/")) {
          assertEquals(still1.get(k).get(name), still2.get(k).get(name), "W 2 vs W 1, iteration " + k + ": " + name);
          measures++;
        }
      }
      assertEquals(2 * 10, measures);
      assertEquals(0.0, still2.get(k).get("eval/B/kl").asDouble(), 0.0);
    }
  }
}
