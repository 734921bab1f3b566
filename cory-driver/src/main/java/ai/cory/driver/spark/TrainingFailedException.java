package ai.cory.driver.spark;

import ai.cory.worker.comm.RingMembership;

/** A barrier stage of the run failed; the message names the iteration and the task's error. */
public final class TrainingFailedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public TrainingFailedException(String message, Throwable cause) {
    super(message, cause);
  }

  /**
   * True when the failure is the loss of an executor (its JVM exited or stopped answering): the
   * replicas on it are gone, but the others and the run's checkpoints are intact, so the run can
   * recover in the same application. That includes a stage whose tasks found a replica out of
   * step ({@link RingMembership#REPLICA_RELOADED}): Spark may hand a barrier task to the
   * executor that replaced a killed one before it reports the loss, and that executor's fresh
   * replica fails the rendezvous first.
   */
  public boolean executorLost() {
    for (Throwable t = this; t != null; t = t.getCause() == t ? null : t.getCause()) {
      String m = t.getMessage();
      if (m != null && (m.contains("ExecutorLostFailure") || m.contains("ExecutorDeadException")
          || m.contains(RingMembership.REPLICA_RELOADED))) {
        return true;
      }
    }
    return false;
  }

  /**
   * The distinct messages of a cause chain, outermost first (Spark wraps the executor's
   * exception in "Job aborted due to stage failure: ...", whose message already carries it).
   */
  public static String causes(Throwable e) {
    StringBuilder sb = new StringBuilder();
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      String m = t.getMessage() == null ? t.getClass().getSimpleName() : oneLine(t.getMessage());
      if (sb.indexOf(m) < 0) {
        if (sb.length() > 0) {
          sb.append(": ");
        }
        sb.append(m);
      }
    }
    return sb.toString();
  }

  /**
   * A message on one line without stack traces: Spark's stage failures span several lines (the
   * reason, e.g. "ExecutorLostFailure ... exited with code 137", comes after the first) and embed
   * the executor's stack trace ({@code at ...} lines, "Driver stacktrace:"), which is dropped.
   */
  public static String oneLine(String message) {
    StringBuilder sb = new StringBuilder();
    for (String line : message.strip().split("\\R")) {
      String l = line.strip();
      if (l.startsWith("at ") || l.startsWith("Driver stacktrace") || l.startsWith("Caused by:")
          || l.startsWith("...")) {
        break;
      }
      if (!l.isEmpty()) {
        sb.append(sb.length() > 0 ? " " : "").append(l);
      }
    }
    return sb.toString();
  }
}
