package ai.cory.worker.comm;

/**
 * A collective failed: a peer sent something out of step, a publication closed, or the instance was
 * already broken by an earlier failure. After any failure the instance refuses further calls: data
 * of the failed operation may still be in flight, so the ring must be rebuilt.
 */
public class AllreduceException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public AllreduceException(final String message) {
    super(message);
  }

  public AllreduceException(final String message, final Throwable cause) {
    super(message, cause);
  }
}
