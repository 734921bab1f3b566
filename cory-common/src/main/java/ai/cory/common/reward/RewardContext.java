package ai.cory.common.reward;

import ai.cory.common.io.FileSourceResolver;
import java.util.Objects;

/**
 * What a reward may take from its environment when it is built from config.
 *
 * @param files opens the user-given paths/URIs a reward config names (classifier weights)
 */
public record RewardContext(FileSourceResolver files) {

  public RewardContext {
    Objects.requireNonNull(files, "files");
  }

  /** Local files only. */
  public static RewardContext local() {
    return new RewardContext(FileSourceResolver.local());
  }
}
