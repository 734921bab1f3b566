package ai.cory.driver.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.cory.AgentId;
import ai.cory.worker.spark.ReplicaChecksum;
import ai.cory.worker.spark.TaskReport;
import ai.cory.worker.train.IterationReport;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The driver's merge of a stage's reports and its replica checks. */
final class StageReportsTest {

  private static TaskReport report(int rank, double reward, double rolloutSeconds, long paramsCrc) {
    Map<String, Double> metrics = new LinkedHashMap<>();
    metrics.put("A/pioneer/env/reward_mean", reward);
    metrics.put("time/rollout", rolloutSeconds);
    IterationReport r = new IterationReport(3, AgentId.A, 9, false, metrics, Map.of("pioneer", "text " + rank));
    ReplicaChecksum c = new ReplicaChecksum(3, Map.of("A/params", paramsCrc, "A/adam", 7L), 64);
    return new TaskReport(rank, "exec-" + rank, "host-" + rank, 1, "udp://10.0.0." + rank + ":4000/1", r, c, false,
        false, 0.5 + rank, 2.0, null, 0.25 * rank, null, 0);
  }

  @Test
  void identicalReplicasMergeWithTheSlowestTimings() {
    IterationReport merged = StageReports.merge(3, List.of(report(1, 0.25, 4.0, 11), report(0, 0.25, 3.0, 11)), 2,
        6.5);
    assertEquals(0.25, merged.metric("A/pioneer/env/reward_mean"));
    assertEquals(4.0, merged.metric("time/rollout"), "the iteration waits for the slowest worker");
    assertEquals(1.5, merged.metric("time/setup"));
    assertEquals(6.5, merged.metric("time/stage"));
    assertEquals("text 0", merged.samples().get("pioneer"), "rank 0's samples");
  }

  @Test
  void differentParameterFingerprintsFailTheRun() {
    ReplicaDivergenceException e = assertThrows(ReplicaDivergenceException.class,
        () -> StageReports.merge(3, List.of(report(0, 0.25, 3.0, 11), report(1, 0.25, 3.0, 12)), 2, 1));
    assertTrue(e.getMessage().contains("rank 1 (executor exec-1 on host-1, replica 1)"), e.getMessage());
    assertTrue(e.getMessage().contains("A/params 0000000b != 0000000c"), e.getMessage());
  }

  @Test
  void aBatchMetricThatDiffersByOneUlpFailsTheRun() {
    double reward = 0.25;
    ReplicaDivergenceException e = assertThrows(ReplicaDivergenceException.class,
        () -> StageReports.merge(3, List.of(report(0, reward, 3.0, 11), report(1, Math.nextUp(reward), 3.0, 11)), 2,
            1));
    assertTrue(e.getMessage().contains("A/pioneer/env/reward_mean"), e.getMessage());
  }

  @Test
  void aMissingRankIsAnError() {
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> StageReports.merge(3, List.of(report(0, 0.25, 3.0, 11)), 2, 1));
    assertTrue(e.getMessage().contains("1 task reports for 2 workers"), e.getMessage());
  }
}
