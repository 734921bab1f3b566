package ai.cory.common.config;

import java.io.Serializable;
import java.util.Objects;

/**
 * {@code cory.workers} and {@code cory.runtime}: how a run is spread over data-parallel workers.
 * Each of the W workers holds full replicas of the agents and the reference, takes
 * {@code batch-size / W} queries per iteration and averages gradients and batch statistics with
 * its peers over Aeron; the driver runs each iteration as one Spark barrier stage of W tasks.
 *
 * @param workers               W, {@code >= 1}
 * @param master                Spark master URL used when the driver is not started by
 *                              {@code spark-submit} (whose {@code --master} wins); null =
 *                              {@code local[W]}, every worker a thread of the driver's JVM
 * @param transport             Aeron transport between workers
 * @param bindAddress           address a worker's UDP endpoint binds and advertises; null = the
 *                              executor's host as Spark reports it
 * @param aeronDirectory        Aeron directory of an external media driver; null = one embedded
 *                              driver per executor JVM
 * @param collectiveTimeoutMs   longest one collective may take, including the wait for the
 *                              slowest worker to arrive, {@code > 0}
 * @param chunkBytes            payload of one Aeron message of the ring, {@code >= 256}
 * @param verifyReplicasEvery   compare the replicas' parameter checksums every N iterations
 *                              (and after the last); 0 = never
 * @param checkpointEvery       write and commit a checkpoint every N iterations; 0 = never
 * @param checkpointsKept       committed checkpoints kept, {@code >= 1}
 * @param resume                start from the newest committed checkpoint of the run directory
 * @param sync                what the workers average after their backward passes
 * @param parameterSyncEvery  with {@link Sync#PARAMETERS}: optimizer steps between two averagings
 *                            of the parameters and Adam moments, {@code >= 1} (they are also
 *                            averaged at the end of every PPO step)
 * @param maxRecoveries       in-job recoveries from executor loss per run, {@code >= 0}
 * @param recoveryWaitMs      longest wait for the executors to be back to W in a recovery, {@code > 0}
 * @param storeLeaseTimeoutMs a run's lease on its store expires this long after its driver's
 *                            last heartbeat (a dead driver's store is free again), {@code > 0}
 * @param authenticateFrames  sign and verify every ring message with a per-run key (HMAC-SHA256)
 */
public record RuntimeSettings(int workers, String master, Transport transport, String bindAddress,
    String aeronDirectory, long collectiveTimeoutMs, int chunkBytes, int verifyReplicasEvery, int checkpointEvery,
    int checkpointsKept, boolean resume, Sync sync, int parameterSyncEvery, int maxRecoveries, long recoveryWaitMs,
    boolean authenticateFrames, long storeLeaseTimeoutMs)
    implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Smallest ring message payload (the 40-byte header would dominate below). */
  public static final int MIN_CHUNK_BYTES = 256;

  /** How workers reach each other. */
  public enum Transport {
    /** IPC when every worker is in one JVM (a {@code local} master), UDP otherwise. */
    AUTO,
    /** UDP unicast between executors (works across hosts and on loopback). */
    UDP,
    /** Shared-memory IPC through one media driver: only when all workers share it. */
    IPC
  }

  /** What data-parallel workers average. */
  public enum Sync {
    /**
     * The gradients, before every optimizer step: replicas stay bit-identical and W workers make
     * the update of one worker holding the whole batch.
     */
    GRADIENTS,
    /**
     * The parameters and Adam moments, every {@code parameter-sync-every} optimizer steps and at
     * the end of every PPO step; in between each worker steps Adam on its own share's gradient
     * (local Adam / model averaging): about 1 / N of the traffic, replicas differ between
     * averagings, and the update is no longer the one-worker update.
     */
    PARAMETERS
  }

  public RuntimeSettings {
    Objects.requireNonNull(transport, "transport");
    Objects.requireNonNull(sync, "sync");
    if (parameterSyncEvery < 1) {
      throw new IllegalArgumentException("parameterSyncEvery must be >= 1, got " + parameterSyncEvery);
    }
    if (workers < 1) {
      throw new IllegalArgumentException("workers must be >= 1, got " + workers);
    }
    if (collectiveTimeoutMs <= 0) {
      throw new IllegalArgumentException("collectiveTimeoutMs must be > 0, got " + collectiveTimeoutMs);
    }
    if (chunkBytes < MIN_CHUNK_BYTES) {
      throw new IllegalArgumentException("chunkBytes must be >= " + MIN_CHUNK_BYTES + ", got " + chunkBytes);
    }
    if (verifyReplicasEvery < 0 || checkpointEvery < 0) {
      throw new IllegalArgumentException("verifyReplicasEvery and checkpointEvery must be >= 0, got "
          + verifyReplicasEvery + ", " + checkpointEvery);
    }
    if (maxRecoveries < 0 || recoveryWaitMs <= 0) {
      throw new IllegalArgumentException("maxRecoveries must be >= 0 and recoveryWaitMs > 0, got " + maxRecoveries
          + ", " + recoveryWaitMs);
    }
    if (checkpointsKept < 1) {
      throw new IllegalArgumentException("checkpointsKept must be >= 1, got " + checkpointsKept);
    }
  }

  /** The master to use when none is given by {@code spark-submit}. */
  public String masterOrLocal() {
    return master != null ? master : "local[" + workers + "]";
  }

  /**
   * True when a checkpoint is written after iteration {@code k} (0-based) of a run of
   * {@code iterations}: every {@code checkpoint-every} iterations and always after the last.
   */
  public boolean checkpointsAfter(long k, long iterations) {
    return checkpointEvery > 0 && ((k + 1) % checkpointEvery == 0 || k + 1 == iterations);
  }

  /** True when the replica checksums are compared after iteration {@code k} of {@code iterations}. */
  public boolean verifiesAfter(long k, long iterations) {
    return verifyReplicasEvery > 0 && ((k + 1) % verifyReplicasEvery == 0 || k + 1 == iterations);
  }
}
