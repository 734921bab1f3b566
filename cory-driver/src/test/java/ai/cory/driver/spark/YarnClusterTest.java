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
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.yarn.api.records.ApplicationReport;
import org.apache.hadoop.yarn.api.records.FinalApplicationStatus;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * CORY on a real YARN ({@link YarnCluster}: MiniYARNCluster over MiniDFSCluster), submitted
 * through {@code deploy/spark-submit.sh --master yarn --queue default}: first in client mode (the
 * driver in the submitting JVM, two executors in YARN containers, Aeron over UDP between them,
 * checkpoints in HDFS), then the same run extended by one iteration in cluster mode (the driver in
 * the ApplicationMaster's container), which resumes from the HDFS checkpoint.
 */
final class YarnClusterTest {
  @TempDir
  Path tmp;

  @Test
  @Timeout(600)
  void clientThenClusterModeTrainAndResumeFromHdfs() throws Exception {
    Path runDir = tmp.resolve("run");
    DefaultRun demo = DefaultRun.demo(runDir);
    Path script = Path.of("..", "deploy", "spark-submit.sh").toAbsolutePath().normalize();
    try (YarnCluster cluster = YarnCluster.start(tmp.resolve("yarn"), 6144)) {
      String store = cluster.hdfs() + "/cory/runs/demo";
      int client = cluster.submit("client", script, args(cluster, demo, "client", store, 2), 300_000);
      String clientLog = cluster.log("client");
      assertEquals(0, client, clientLog);
      assertTrue(clientLog.contains("iter   2/2") && clientLog.contains("replicas identical"), clientLog);

      int clusterMode = cluster.submit("cluster", script, args(cluster, demo, "cluster", store, 3), 300_000);
      String submitLog = cluster.log("cluster");
      List<ApplicationReport> apps = cluster.applications();
      assertEquals(2, apps.size(), submitLog);
      String driverOut = cluster.containerLogs(apps.get(1).getApplicationId().toString(), "stdout");
      assertEquals(0, clusterMode, submitLog + driverOut
          + cluster.containerLogs(apps.get(1).getApplicationId().toString(), "stderr"));
      for (ApplicationReport app : apps) {
        assertEquals(FinalApplicationStatus.SUCCEEDED, app.getFinalApplicationStatus(), app.toString());
        assertTrue(app.getQueue().endsWith("default"), app.getQueue()); // the Capacity Scheduler says root.default
        assertEquals("SPARK", app.getApplicationType());
      }
      // the cluster-mode driver ran in a container, continued from the client run's HDFS checkpoint
      assertTrue(driverOut.contains("resuming after iteration 1 from " + store), driverOut);
      assertTrue(driverOut.contains("iter   3/3"), driverOut);
      FileStatus[] checkpoints = cluster.fileSystem().listStatus(new org.apache.hadoop.fs.Path(store, "checkpoints"));
      assertTrue(checkpoints.length >= 2, List.of(checkpoints).toString());
      assertTrue(cluster.fileSystem().exists(new org.apache.hadoop.fs.Path(store, "final/A/model.safetensors")));
    }

    assertEquals(3, Files.readAllLines(runDir.resolve(MetricsLog.METRICS_FILE)).size());
    List<JsonNode> replicas = SparkTrainingTest.jsonLines(runDir.resolve(TrainingLoop.REPLICAS_FILE));
    assertEquals(3, replicas.size());
    for (JsonNode line : replicas) { // every iteration: two executor containers over UDP, identical replicas
      JsonNode r0 = line.get("workers").get(0);
      JsonNode r1 = line.get("workers").get(1);
      assertNotEquals(r0.get("executor").asText(), r1.get("executor").asText(), line.toString());
      assertNotEquals("driver", r0.get("executor").asText(), line.toString());
      assertTrue(r0.get("endpoint").asText().startsWith("udp://"), line.toString());
      assertEquals(r0.get("checksum"), r1.get("checksum"), line.toString());
    }
  }

  private static List<String> args(YarnCluster cluster, DefaultRun demo, String mode, String store, int iterations) {
    List<String> args = new ArrayList<>(List.of("--deploy-mode", mode, "--queue", "default", "--workers", "2",
        "--cores", "1", "--memory", "640m", "--overhead", "384m", "--driver-memory", "768m"));
    args.addAll(cluster.containerConf());
    args.add("--");
    args.addAll(List.of("--config", demo.config().toString()));
    args.addAll(demo.withUserOverrides(List.of("run.iterations=" + iterations, "run.store=\"" + store + "\"",
        "runtime.collective-timeout=120s", "ppo.mini-batch-size=2")));
    return args;
  }
}
