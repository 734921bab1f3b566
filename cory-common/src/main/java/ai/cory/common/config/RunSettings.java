package ai.cory.common.config;

import java.io.Serializable;

/**
 * {@code cory.run}: what a run is and where it writes.
 *
 * @param seed        seed of everything random in the run
 * @param iterations  PPO iterations to run, {@code > 0}
 * @param dir         run directory (metrics, resolved config, exports) as given (relative
 *                    paths are resolved by the driver against its working directory)
 * @param exportFinal write both agents in Hugging Face layout at the end of the run
 */
public record RunSettings(long seed, int iterations, String dir, boolean exportFinal) implements Serializable {
  private static final long serialVersionUID = 1L;
}
