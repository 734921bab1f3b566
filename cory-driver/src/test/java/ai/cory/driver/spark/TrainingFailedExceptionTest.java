package ai.cory.driver.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** Spark's multi-line stage-failure messages become one line, reason kept, stack traces dropped. */
final class TrainingFailedExceptionTest {

  @Test
  void stageFailuresBecomeOneLineWithTheirReasonAndWithoutStackTraces() {
    String lost = "Job aborted due to stage failure: Could not recover from a failed barrier ResultStage.\n"
        + "ExecutorLostFailure (executor 1 exited unrelated to the running tasks) Reason: Command exited with code 137\n"
        + "Driver stacktrace:\n\tat org.apache.spark.scheduler.DAGScheduler.failJobAndIndependentStages(DAGScheduler.scala:2856)\n";
    assertEquals("Job aborted due to stage failure: Could not recover from a failed barrier ResultStage. "
        + "ExecutorLostFailure (executor 1 exited unrelated to the running tasks) Reason: Command exited with code 137",
        TrainingFailedException.oneLine(lost));
    String task = "Job aborted due to stage failure: Task 0 in stage 3.0 failed 1 times, most recent failure: "
        + "java.lang.IllegalStateException: rank 1 holds the initial model\n\tat ai.cory.worker.spark.X.y(X.java:1)\n"
        + "\tat java.base/java.lang.Thread.run(Thread.java:840)\n";
    assertEquals("Job aborted due to stage failure: Task 0 in stage 3.0 failed 1 times, most recent failure: "
        + "java.lang.IllegalStateException: rank 1 holds the initial model", TrainingFailedException.oneLine(task));
    assertEquals("iteration 4 failed: a: b", TrainingFailedException.causes(
        new RuntimeException("iteration 4 failed: a", new RuntimeException("b\n\tat x.y(Z.java:1)"))));
  }
}
