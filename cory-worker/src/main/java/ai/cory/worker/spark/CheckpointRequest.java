package ai.cory.worker.spark;

import java.io.Serializable;
import java.util.Objects;

/**
 * The driver's request that rank 0 write a checkpoint of its replica after this iteration.
 *
 * @param store      the run's store ({@code cory.run.store} or the run directory) as a URI every
 *                   executor resolves alike ({@code file:///abs/run}, {@code hdfs://nn/runs/x});
 *                   checkpoints go to its {@code checkpoints/}
 * @param keepLast   committed checkpoints the store keeps
 */
public record CheckpointRequest(String store, int keepLast) implements Serializable {
  private static final long serialVersionUID = 1L;

  public CheckpointRequest {
    Objects.requireNonNull(store, "store");
    if (keepLast < 1) {
      throw new IllegalArgumentException("keepLast must be >= 1, got " + keepLast);
    }
  }
}
