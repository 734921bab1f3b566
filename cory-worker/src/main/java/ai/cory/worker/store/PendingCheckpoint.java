package ai.cory.worker.store;

import ai.cory.common.checkpoint.CheckpointLayout;
import ai.cory.common.checkpoint.ChecksumAlgorithm;
import java.io.Serializable;
import java.util.Objects;

/**
 * A checkpoint written by rank 0 into a temporary directory and not yet committed: the handle
 * the executor returns to the driver (small, Serializable), which then calls
 * {@link CheckpointStore#commit} once the stage succeeded or {@link CheckpointStore#abort}.
 *
 * @param checkpointsDir    the store's qualified {@code <run>/checkpoints} directory
 * @param tmpDirName        {@code _tmp-<iteration>-<uuid>}
 * @param iteration         the checkpoint's iteration
 * @param checksumAlgorithm algorithm of {@code manifestChecksum}
 * @param manifestChecksum  checksum of the manifest the writer wrote: the commit refuses a
 *                          directory whose manifest differs
 * @param totalBytes        bytes written (metrics)
 */
public record PendingCheckpoint(String checkpointsDir, String tmpDirName, long iteration,
    ChecksumAlgorithm checksumAlgorithm, String manifestChecksum, long totalBytes)
    implements Serializable {
  private static final long serialVersionUID = 1L;

  public PendingCheckpoint {
    Objects.requireNonNull(checkpointsDir, "checkpointsDir");
    Objects.requireNonNull(tmpDirName, "tmpDirName");
    Objects.requireNonNull(checksumAlgorithm, "checksumAlgorithm");
    Objects.requireNonNull(manifestChecksum, "manifestChecksum");
    if (CheckpointLayout.parseTmpDir(tmpDirName).orElse(-1) != iteration) {
      throw new IllegalArgumentException("tmpDirName '" + tmpDirName
          + "' is not a temporary checkpoint directory of iteration " + iteration);
    }
  }
}
