package ai.cory.common.checkpoint;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.io.IOException;
import java.util.Objects;

/**
 * Content of the {@code _COMMITTED} marker. Its presence says the driver committed the
 * checkpoint after the stage that wrote it succeeded (renames are atomic on HDFS but not on
 * S3A, so the marker, written after the rename, is what makes a checkpoint visible). The
 * manifest's checksum binds the marker to exactly the manifest that was committed.
 *
 * @param iteration         the checkpoint's iteration
 * @param checksumAlgorithm algorithm of {@code manifestChecksum}
 * @param manifestChecksum  checksum of the committed {@code manifest.json}
 * @param committedAtMillis commit time, epoch milliseconds (for people reading the directory)
 */
public record CommitMarker(
    @JsonProperty("iteration") long iteration,
    @JsonProperty("checksum_algorithm") ChecksumAlgorithm checksumAlgorithm,
    @JsonProperty("manifest_checksum") String manifestChecksum,
    @JsonProperty("committed_at_millis") long committedAtMillis) {

  public CommitMarker {
    Objects.requireNonNull(checksumAlgorithm, "checksum_algorithm");
    Objects.requireNonNull(manifestChecksum, "manifest_checksum");
  }

  /** The marker bytes. */
  public byte[] toJson() {
    return CheckpointJson.write(this);
  }

  /** Parses a marker; {@code where} names the file in messages. */
  public static CommitMarker fromJson(byte[] json, String where) throws IOException {
    return CheckpointJson.read(json, CommitMarker.class, where);
  }
}
