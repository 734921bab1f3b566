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
 * The runtime on a real Spark standalone cluster (master and two workers as child JVMs on
 * loopback, {@link StandaloneCluster}), the job submitted as operators do, through
 * {@code deploy/spark-submit.sh} (its {@code SPARK_SUBMIT} being {@code SparkSubmit} on the
 * project's classpath; main class {@code ai.cory.driver.CoryDriver}): two executor JVMs each hold a
 * resident replica, exchange Aeron endpoints inside the barrier stage and average over UDP
 * between processes; the driver compares their fingerprints after every iteration. The demo
 * preset, 2 iterations, minibatches of 2 of the 8 rows (so the rows are all-gathered across the
 * two processes and every minibatch mixes both shards).
 */
final class StandaloneClusterTest {
  @TempDir
  Path tmp;

  @Test
  @Timeout(300)
  void twoExecutorJvmsTrainTheDemoOverUdpThroughSparkSubmit() throws Exception {
    Path runDir = tmp.resolve("run");
    DefaultRun demo = DefaultRun.demo(runDir);
    List<String> args = new ArrayList<>(List.of("--workers", "2", "--cores", "1", "--memory", "640m"));
    int exit;
    String driverLog;
    try (StandaloneCluster cluster = StandaloneCluster.start(tmp.resolve("cluster"), 2, 1, 1024)) {
      for (Map.Entry<String, String> e : cluster.applicationConf(2).entrySet()) {
        if (e.getKey().startsWith("spark.executor.extraClassPath") || e.getKey().startsWith("spark.driver.")
            || e.getKey().startsWith("spark.ui.")) { // the wrapper sets cores, memory and instances itself
          args.addAll(List.of("--conf", e.getKey() + "=" + e.getValue()));
        }
      }
      args.add("--");
      args.addAll(List.of("--config", demo.config().toString()));
      args.addAll(demo.withUserOverrides(List.of("run.iterations=2", "runtime.collective-timeout=90s",
          "ppo.mini-batch-size=2")));
      exit = cluster.await(cluster.submitScript("submit", Path.of("..", "deploy", "spark-submit.sh").toAbsolutePath()
          .normalize(), args), "submit", 240_000);
      driverLog = cluster.log("submit");
    }
    assertEquals(0, exit, driverLog);
    assertTrue(driverLog.contains("iter   2/2") && driverLog.contains("replicas identical"), driverLog);

    driverLog.lines().filter(l -> l.startsWith("iter ")).forEach(System.out::println);
    Files.readAllLines(runDir.resolve(TrainingLoop.REPLICAS_FILE)).forEach(System.out::println);
    List<JsonNode> replicas = SparkTrainingTest.jsonLines(runDir.resolve(TrainingLoop.REPLICAS_FILE));
    assertEquals(2, replicas.size(), driverLog);
    for (JsonNode line : replicas) {
      JsonNode r0 = line.get("workers").get(0);
      JsonNode r1 = line.get("workers").get(1);
      // two executor processes, neither of them the driver, talking over UDP
      assertNotEquals(r0.get("executor").asText(), r1.get("executor").asText(), line.toString());
      assertNotEquals("driver", r0.get("executor").asText(), line.toString());
      assertTrue(r0.get("endpoint").asText().startsWith("udp://127.0.0.1:"), line.toString());
      assertTrue(r1.get("endpoint").asText().startsWith("udp://127.0.0.1:"), line.toString());
      assertEquals(r0.get("checksum"), r1.get("checksum"), line.toString());
    }
    assertEquals(2, Files.readAllLines(runDir.resolve(MetricsLog.METRICS_FILE)).size());
    assertTrue(Files.isRegularFile(runDir.resolve("final/A/model.safetensors")), "rank 0 exported agent A");
    assertTrue(Files.isRegularFile(runDir.resolve("final/B/model.safetensors")), "rank 0 exported agent B");
  }
}
