package ai.cory.worker.comm;

/** A collective did not complete within its configured time; the message names the peer. */
public final class AllreduceTimeoutException extends AllreduceException {
  private static final long serialVersionUID = 1L;

  public AllreduceTimeoutException(final String message) {
    super(message);
  }
}
