package ai.cory.driver.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.metrics.MetricNames;
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
 * In-job recovery from executor loss on a real standalone cluster (two worker JVMs, executors in
 * their own JVMs, Aeron over UDP): an executor JVM is SIGKILLed while the run iterates. The same
 * application waits for Spark to bring a new executor, every replica goes back to the newest
 * committed checkpoint, and the run finishes all its iterations, each logged once, with replica
 * fingerprints equal to those of an uninterrupted run of the same settings.
 */
final class ExecutorRecoveryTest {
  private static final int ITERATIONS = 10;
  private static final List<String> OVERRIDES = List.of("workers=2", "run.iterations=" + ITERATIONS,
      "runtime.checkpoint-every=2", "runtime.collective-timeout=60s", "ppo.mini-batch-size=2",
      "runtime.recovery-wait=120s");

  @TempDir
  Path tmp;

  @Test
  @Timeout(420)
  void aKilledExecutorIsReplacedAndTheRunFinishesWithTheUninterruptedFingerprints() throws Exception {
    Path runDir = tmp.resolve("run");
    DefaultRun demo = DefaultRun.demo(runDir);
    List<String> appArgs = new ArrayList<>(List.of("--config", demo.config().toString()));
    appArgs.addAll(demo.withUserOverrides(OVERRIDES));
    Path marker = runDir.resolve("checkpoints/iter-000004/_COMMITTED");
    Path straight = tmp.resolve("straight");
    DefaultRun reference = DefaultRun.demo(straight);
    List<String> referenceArgs = new ArrayList<>(List.of("--config", reference.config().toString()));
    referenceArgs.addAll(reference.withUserOverrides(OVERRIDES));
    String log;
    try (StandaloneCluster cluster = StandaloneCluster.start(tmp.resolve("cluster"), 2, 1, 1024)) {
      Map<String, String> conf = cluster.applicationConf(2);
      Process run = cluster.submitAsync("run", conf, "ai.cory.driver.CoryDriver", appArgs);
      long deadline = System.currentTimeMillis() + 240_000;
      while (!Files.exists(marker) && run.isAlive() && System.currentTimeMillis() < deadline) {
        Thread.sleep(50);
      }
      assertTrue(Files.exists(marker), "no checkpoint after 4 iterations: " + cluster.log("run"));
      assertTrue(cluster.killExecutorsOf(1) > 0, "worker 1 runs an executor");
      int exit = cluster.await(run, "run", 300_000);
      log = cluster.log("run");
      log.lines().filter(l -> l.startsWith("iter ") || l.contains("recovery") || l.startsWith("cory"))
          .limit(40).forEach(System.out::println);
      assertEquals(0, exit, log);
      // the same settings on the same cluster without a failure (executors of one core each, as above)
      int straightExit = cluster.await(cluster.submitAsync("straight", conf, "ai.cory.driver.CoryDriver",
          referenceArgs), "straight", 300_000);
      assertEquals(0, straightExit, cluster.log("straight"));
    }
    assertTrue(log.contains("lost an executor") && log.contains("recovery 1 of 3"), log);
    List<JsonNode> metrics = SparkTrainingTest.jsonLines(runDir.resolve(MetricsLog.METRICS_FILE));
    assertEquals(ITERATIONS, metrics.size(), "every iteration exactly once");
    for (int k = 0; k < ITERATIONS; k++) {
      assertEquals(k, metrics.get(k).get("iteration").asInt());
    }
    assertEquals(1, metrics.get(ITERATIONS - 1).get(MetricNames.RECOVERIES).asInt(), "the recovery is counted");

    List<JsonNode> recovered = SparkTrainingTest.jsonLines(runDir.resolve(TrainingLoop.REPLICAS_FILE));
    List<JsonNode> uninterrupted = SparkTrainingTest.jsonLines(straight.resolve(TrainingLoop.REPLICAS_FILE));
    assertEquals(ITERATIONS, recovered.size());
    for (int k = 0; k < ITERATIONS; k++) {
      JsonNode a = recovered.get(k).get("workers");
      JsonNode b = uninterrupted.get(k).get("workers");
      assertEquals(a.get(0).get("checksum"), a.get(1).get("checksum"), "iteration " + k + ": replicas identical");
      assertEquals(b.get(0).get("checksum"), a.get(0).get("checksum"), "iteration " + k + ": as if nothing failed");
    }
  }
}
