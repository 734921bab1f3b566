package ai.cory.worker.train;

import ai.cory.common.config.RuntimeSettings;
import ai.cory.common.config.RuntimeSettings.Sync;
import java.util.Objects;

/**
 * What the data-parallel workers of a {@link PpoStep} average ({@code cory.runtime.sync}).
 *
 * @param sync  gradients before every optimizer step, or parameters and Adam moments
 * @param every with {@link Sync#PARAMETERS}: optimizer steps between two averagings ({@code >= 1});
 *              the end of every PPO step is always one
 */
public record Averaging(Sync sync, int every) {
  /** Gradient averaging before every optimizer step (the default). */
  public static final Averaging GRADIENTS = new Averaging(Sync.GRADIENTS, 1);

  public Averaging {
    Objects.requireNonNull(sync, "sync");
    if (every < 1) {
      throw new IllegalArgumentException("every must be >= 1, got " + every);
    }
  }

  /** Parameter and Adam-moment averaging every {@code steps} optimizer steps. */
  public static Averaging parametersEvery(int steps) {
    return new Averaging(Sync.PARAMETERS, steps);
  }

  /** The mode of a run's runtime settings. */
  public static Averaging of(RuntimeSettings runtime) {
    return runtime.sync() == Sync.GRADIENTS ? GRADIENTS : parametersEvery(runtime.parameterSyncEvery());
  }

  /** True when parameters (not gradients) are averaged. */
  public boolean parameters() {
    return sync == Sync.PARAMETERS;
  }
}
