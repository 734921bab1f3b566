package ai.cory.driver.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.cory.common.cory.AgentId;
import ai.cory.worker.train.IterationReport;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The progress line's throughput and ETA pieces. */
final class MetricsLogTest {

  @Test
  void responseTokensCountEveryRoleOfTheBatch() {
    IterationReport r = new IterationReport(0, AgentId.A, 9, false, Map.of("A/pioneer/tokens/responses_len_mean", 7.5,
        "B/observer/tokens/responses_len_mean", 4.0, "env/reward_collective", 1.0), Map.of());
    assertEquals(32 * 11.5, MetricsLog.responseTokens(r, 32), 0.0);
  }

  @Test
  void durationsReadAsSecondsMinutesOrHours() {
    assertEquals("0s", MetricsLog.duration(-1));
    assertEquals("59s", MetricsLog.duration(59.4));
    assertEquals("3m05s", MetricsLog.duration(185));
    assertEquals("2h07m", MetricsLog.duration(2 * 3600 + 7 * 60 + 30));
  }
}
