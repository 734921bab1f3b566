package ai.cory.worker.spark;

import ai.cory.worker.eval.EvalSampler;
import ai.cory.worker.store.PendingCheckpoint;
import ai.cory.worker.train.IterationReport;
import java.io.Serializable;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What one barrier task returns to the driver: the iteration's metrics (a few KB) and where and
 * how it ran.
 *
 * @param rank            the task's partition, 0..W-1
 * @param executorId      Spark executor id ({@code driver} in local mode)
 * @param host            executor host
 * @param replicaId       the resident replica used (unique within its JVM)
 * @param endpoint        the replica's Aeron endpoint in this iteration's ring
 * @param report          the trainer's report of the iteration
 * @param checksum        the replica's state fingerprint after the iteration, or null when the
 *                        plan did not ask for verification
 * @param replicaLoaded   this task loaded the replica (first iteration, or a new executor)
 * @param ringConnected   this task connected a new Aeron ring (the workers changed)
 * @param setupSeconds    from task start to the iteration's start: checkout (and load),
 *                        endpoint exchange, ring set-up
 * @param iterationSeconds the iteration itself
 * @param checkpoint      rank 0's written, not yet committed checkpoint when the driver asked
 *                        for one, else null
 * @param checkpointSeconds rank 0's checkpoint write
 * @param heldOut         this rank's share of the held-out evaluation (agent key -> rows) when
 *                        the driver asked for one, else null
 * @param evalSeconds     the held-out evaluation's time on this rank (0 without one)
 */
public record TaskReport(int rank, String executorId, String host, int replicaId, String endpoint,
    IterationReport report,
    ReplicaChecksum checksum, boolean replicaLoaded, boolean ringConnected, double setupSeconds,
    double iterationSeconds, PendingCheckpoint checkpoint, double checkpointSeconds,
    Map<String, List<EvalSampler.Result>> heldOut, double evalSeconds)
    implements Serializable {
  private static final long serialVersionUID = 1L;

  public TaskReport {
    Objects.requireNonNull(executorId, "executorId");
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(endpoint, "endpoint");
    Objects.requireNonNull(report, "report");
  }

  /** {@code rank 1 (executor 3 on host-b, replica 2)}. */
  public String where() {
    return "rank " + rank + " (executor " + executorId + " on " + host + ", replica " + replicaId + ")";
  }
}
