package ai.cory.common.config;

import ai.cory.common.io.FileSourceResolver;
import java.io.Serializable;
import java.nio.file.Path;

/**
 * {@code cory.run}: what a run is and where it writes.
 *
 * @param seed        seed of everything random in the run
 * @param iterations  PPO iterations to run, {@code > 0}
 * @param dir         run directory (metrics, resolved config, exports) as given (relative
 *                    paths are resolved by the driver against its working directory)
 * @param exportFinal write both agents in Hugging Face layout at the end of the run
 * @param store       where the checkpoints and the exported agents go: a Hadoop FileSystem URI
 *                    ({@code hdfs://nn:8020/cory/runs/x}, {@code s3a://bucket/runs/x},
 *                    {@code file:///mnt/shared/x}) or a local path; null = the run directory
 */
public record RunSettings(long seed, int iterations, String dir, boolean exportFinal, String store)
    implements Serializable {
  private static final long serialVersionUID = 1L;

  /**
   * The store location as a URI: {@link #store} when set (a local path becomes its absolute
   * {@code file:} URI), else the run directory {@code runDir}'s.
   */
  public String storeOr(Path runDir) {
    if (store == null) {
      return runDir.toAbsolutePath().toUri().toString();
    }
    return FileSourceResolver.SCHEME.matcher(store).find() ? store
        : Path.of(store).toAbsolutePath().toUri().toString();
  }
}
