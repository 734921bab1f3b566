package ai.cory.driver.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.config.Settings;
import ai.cory.driver.train.DefaultRun;
import ai.cory.driver.train.MetricsLog;
import ai.cory.driver.train.TrainingLoop;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checkpoints written by rank 0 and committed by the driver, and a run resumed from one: two
 * workers train the demo preset for 3 iterations straight; another run stops after 2 (with a
 * checkpoint) and is started again for 3. The resumed iteration reproduces the uninterrupted
 * run's metrics and final parameters bit for bit (it follows a role exchange): weights, Adam
 * moments and steps, KL coefficients, score moments and role slots all come back, and every
 * random draw is a function of (seed, iteration). The checkpoint of a 2-worker run resumed by one
 * worker continues the same trajectory (float tolerance). A checkpoint of other settings is
 * refused.
 */
final class CheckpointResumeTest {
  @RegisterExtension
  static final LocalSpark SPARK = new LocalSpark(2);

  @TempDir
  Path tmp;

  static Settings demo(Path runDir, String... overrides) throws Exception {
    DefaultRun preset = DefaultRun.demo(runDir);
    List<String> all = new ArrayList<>(List.of("workers=2", "runtime.checkpoint-every=2",
        "runtime.collective-timeout=60s", "algorithm.role-exchange-period=2"));
    all.addAll(List.of(overrides));
    return Settings.load(preset.config(), preset.withUserOverrides(all));
  }

  static String run(Settings settings, Path runDir) throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    TrainingLoop.run(settings, runDir, new PrintStream(bytes, true, StandardCharsets.UTF_8));
    String out = bytes.toString(StandardCharsets.UTF_8);
    System.out.print(out);
    return out;
  }

  /** metrics.jsonl without the timings. */
  static List<JsonNode> metrics(Path runDir) throws Exception {
    List<JsonNode> out = new ArrayList<>();
    for (JsonNode line : SparkTrainingTest.jsonLines(runDir.resolve(MetricsLog.METRICS_FILE))) {
      ObjectNode o = (ObjectNode) line;
      List<String> times = new ArrayList<>();
      o.fieldNames().forEachRemaining(n -> {
        if (n.startsWith("time/")) {
          times.add(n);
        }
      });
      o.remove(times);
      out.add(o);
    }
    return out;
  }

  @Test
  @Timeout(180)
  void aResumedRunContinuesExactlyWhereTheCheckpointStopped() throws Exception {
    Path straight = tmp.resolve("straight");
    String out = run(demo(straight, "run.iterations=3"), straight);
    assertTrue(out.contains("checkpoint committed"), out);
    assertTrue(Files.isRegularFile(straight.resolve("checkpoints/iter-000002/_COMMITTED")), "committed after k = 1");

    Path resumed = tmp.resolve("resumed");
    run(demo(resumed, "run.iterations=2"), resumed);
    // an interrupted run may have logged iterations after its last checkpoint: they run again
    Files.writeString(resumed.resolve(MetricsLog.METRICS_FILE), "{\"iteration\":2,\"stale\":true}\n",
        StandardOpenOption.APPEND);
    String second = run(demo(resumed, "run.iterations=3"), resumed);
    assertTrue(second.contains("resuming after iteration 1"), second);
    assertTrue(second.contains("iter   3/3") && !second.contains("iter   2/3"), second);

    List<JsonNode> expected = metrics(straight);
    List<JsonNode> actual = metrics(resumed);
    assertEquals(3, actual.size());
    for (int k = 0; k < 3; k++) {
      assertEquals(expected.get(k), actual.get(k), "iteration " + k);
    }
    for (String agent : List.of("A", "B")) {
      Map<String, float[]> a = SparkTrainingTest.tensors(straight.resolve("final").resolve(agent));
      Map<String, float[]> b = SparkTrainingTest.tensors(resumed.resolve("final").resolve(agent));
      assertEquals(a.keySet(), b.keySet());
      for (String name : a.keySet()) {
        assertArrayEquals(a.get(name), b.get(name), agent + " " + name);
      }
    }

    // elastic: the checkpoint of a 2-worker run resumed by 1 worker continues the same trajectory
    Path elastic = tmp.resolve("elastic");
    run(demo(elastic, "run.iterations=2"), elastic);
    String one = run(demo(elastic, "run.iterations=3", "workers=1"), elastic);
    assertTrue(one.contains("resuming after iteration 1") && one.contains("1 worker(s)"), one);
    double worst = largestRelativeDifference(expected.get(2), metrics(elastic).get(2));
    assertTrue(worst < 1e-4, "iteration 2 resumed on 1 worker vs 2 workers: largest metric difference " + worst);
    System.out.printf("resumed on W = 1 after W = 2: largest metric difference %.3e%n", worst);

    // the same run directory with other training settings: refused before any stage runs
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> run(demo(resumed, "run.iterations=4", "ppo.learning-rate=2e-3"), resumed));
    assertTrue(e.getMessage().contains("cory.ppo") && e.getMessage().contains("resume = false"), e.getMessage());
  }

  /** The largest relative difference of two metrics lines' numbers; other fields must be equal. */
  static double largestRelativeDifference(JsonNode want, JsonNode got) {
    assertEquals(want.size(), got.size());
    double worst = 0;
    for (var it = want.fieldNames(); it.hasNext(); ) {
      String name = it.next();
      if (want.get(name).isNumber()) {
        double a = want.get(name).asDouble();
        worst = Math.max(worst, Math.abs(a - got.get(name).asDouble()) / Math.max(1, Math.abs(a)));
      } else {
        assertEquals(want.get(name), got.get(name), name);
      }
    }
    return worst;
  }
}
