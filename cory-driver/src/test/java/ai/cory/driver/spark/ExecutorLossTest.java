package ai.cory.driver.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.driver.train.DefaultRun;
import ai.cory.driver.train.MetricsLog;
import ai.cory.driver.train.TrainingLoop;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Losing an executor mid-run, with in-job recovery off ({@code runtime.max-recoveries = 0};
 * {@code ExecutorRecoveryTest} covers recovery), on a real standalone cluster (two worker JVMs,
 * executors in their own JVMs, Aeron over UDP): one executor is killed with SIGKILL after a
 * checkpoint was committed. The run must fail with a message that says what happened and what to do, never
 * train on a half-updated or fresh replica; the same command then resumes from the last
 * committed checkpoint and finishes with identical replicas.
 */
final class ExecutorLossTest {
  private static final int ITERATIONS = 12;

  @TempDir
  Path tmp;

  @Test
  @Timeout(420)
  void aKilledExecutorFailsTheRunClearlyAndTheRunResumesFromItsCheckpoint() throws Exception {
    Path runDir = tmp.resolve("run");
    DefaultRun demo = DefaultRun.demo(runDir);
    List<String> appArgs = new ArrayList<>(List.of("--config", demo.config().toString()));
    appArgs.addAll(demo.withUserOverrides(List.of("workers=2", "run.iterations=" + ITERATIONS,
        "runtime.checkpoint-every=2", "runtime.collective-timeout=60s", "ppo.mini-batch-size=2",
        "runtime.max-recoveries=0")));
    Path marker = runDir.resolve("checkpoints/iter-000004/_COMMITTED");
    try (StandaloneCluster cluster = StandaloneCluster.start(tmp.resolve("cluster"), 2, 1, 1024)) {
      Map<String, String> conf = cluster.applicationConf(2);

      Process first = cluster.submitAsync("first", conf, "ai.cory.driver.CoryDriver", appArgs);
      long deadline = System.currentTimeMillis() + 240_000;
      while (!Files.exists(marker) && first.isAlive() && System.currentTimeMillis() < deadline) {
        Thread.sleep(50);
      }
      assertTrue(Files.exists(marker), "no checkpoint after 4 iterations: " + cluster.log("first"));
      int killed = cluster.killExecutorsOf(1);
      assertTrue(killed > 0, "worker 1 runs an executor");
      int exit = cluster.await(first, "first", 300_000);
      String firstLog = cluster.log("first");
      printIterations(firstLog);
      assertNotEquals(0, exit, "the run must not go on without the lost replica: " + firstLog);
      assertTrue(firstLog.contains("failed") && firstLog.contains("run the same command again to resume from it"),
          firstLog);
      long done = Files.readAllLines(runDir.resolve(MetricsLog.METRICS_FILE)).size();
      assertTrue(done >= 4 && done < ITERATIONS, done + " iterations logged before the failure");

      int again = cluster.await(cluster.submitAsync("second", conf, "ai.cory.driver.CoryDriver", appArgs),
          "second", 300_000);
      String secondLog = cluster.log("second");
      printIterations(secondLog);
      assertEquals(0, again, secondLog);
      assertTrue(secondLog.contains("resuming after iteration"), secondLog);
    }
    List<JsonNode> metrics = SparkTrainingTest.jsonLines(runDir.resolve(MetricsLog.METRICS_FILE));
    assertEquals(ITERATIONS, metrics.size(), "every iteration exactly once");
    for (int k = 0; k < ITERATIONS; k++) {
      assertEquals(k, metrics.get(k).get("iteration").asInt());
    }
    for (JsonNode line : SparkTrainingTest.jsonLines(runDir.resolve(TrainingLoop.REPLICAS_FILE))) {
      JsonNode workers = line.get("workers");
      assertEquals(workers.get(0).get("checksum"), workers.get(1).get("checksum"), line.toString());
    }
    assertTrue(Files.isRegularFile(runDir.resolve("final/A/model.safetensors")), "rank 0 exported agent A");
  }

  private static void printIterations(String log) {
    log.lines().filter(l -> l.startsWith("iter ") || l.contains("resuming") || l.startsWith("cory")
        || l.contains("Exception:")).limit(40).forEach(System.out::println);
  }
}
