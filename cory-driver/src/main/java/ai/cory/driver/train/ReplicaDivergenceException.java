package ai.cory.driver.train;

/**
 * The workers' replicas no longer hold the same state: their parameter fingerprints or their
 * batch-wide metrics (which every worker computes from the same allreduced sums) differ.
 * Synchronous data parallelism must keep them bit-identical, so the run stops.
 */
public final class ReplicaDivergenceException extends IllegalStateException {
  private static final long serialVersionUID = 1L;

  public ReplicaDivergenceException(String message) {
    super(message);
  }
}
