package ai.cory.common.cuda;

/**
 * A CUDA call failed, or CUDA is not usable on this machine. The message is one line that says
 * which call or library and why (the driver's error name where there is one).
 */
public final class CudaException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public CudaException(String message) {
    super(message);
  }

  public CudaException(String message, Throwable cause) {
    super(message, cause);
  }
}
