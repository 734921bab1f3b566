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
 * @param dataEpoch  passes over the prompts completed after this iteration
 * @param dataOffset prompts of the current pass consumed after this iteration
 */
public record CheckpointRequest(String store, int keepLast, long dataEpoch, long dataOffset) implements Serializable {
  private static final long serialVersionUID = 1L;

  public CheckpointRequest {
    Objects.requireNonNull(store, "store");
    if (keepLast < 1 || dataEpoch < 0 || dataOffset < 0) {
      throw new IllegalArgumentException("keepLast must be >= 1 and the data position >= 0, got " + keepLast + ", "
          + dataEpoch + ", " + dataOffset);
    }
  }
}
