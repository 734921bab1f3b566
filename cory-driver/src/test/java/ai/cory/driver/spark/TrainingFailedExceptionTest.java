package ai.cory.driver.spark;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.worker.comm.RingMembership;
import org.junit.jupiter.api.Test;

/**
 * Which failed stages the run recovers from in the same application: an executor lost (Spark's
 * own reasons), or a replica found out of step because the executor that replaced a killed one
 * ran a barrier task before Spark reported the loss (the race ExecutorRecoveryTest once met in
 * CI); nothing else.
 */
class TrainingFailedExceptionTest {
  private static TrainingFailedException failed(String executorMessage) {
    return new TrainingFailedException("iteration 4 failed",
        new RuntimeException("Job aborted due to stage failure: " + executorMessage));
  }

  @Test
  void executorLossesAndReloadedReplicasAreRecoverable() {
    assertTrue(failed("ExecutorLostFailure (executor 1 exited unrelated to the running tasks) "
        + "Reason: Command exited with code 137").executorLost());
    assertTrue(failed("java.lang.IllegalStateException: iteration 4 needs every replica at the "
        + "state after iteration 3, but rank 1 (2@127.0.0.1/replica-1) holds the initial model. "
        + RingMembership.REPLICA_RELOADED + "; restart the run from its last checkpoint.")
        .executorLost());
  }

  @Test
  void otherFailuresAreNot() {
    assertFalse(failed("java.lang.IllegalStateException: agent A: PPO loss is NaN").executorLost());
  }
}
