package ai.cory.common.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigRenderOptions;
import java.io.Serializable;
import java.util.Objects;

/**
 * {@code cory.reward}: the reward's name and its own config block, kept as resolved HOCON text
 * so the record ships to executors as a plain string and the reward is built where it runs
 * ({@code ai.cory.common.reward.RewardFactory}).
 *
 * @param type  built-in alias or class name
 * @param hocon the whole {@code cory.reward} block, resolved, as HOCON/JSON text
 */
public record RewardSettings(String type, String hocon) implements Serializable {
  private static final long serialVersionUID = 1L;

  public RewardSettings {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(hocon, "hocon");
  }

  /** From a resolved {@code cory.reward} block. */
  public static RewardSettings of(Config block) {
    return new RewardSettings(block.getString("type"), block.root().render(ConfigRenderOptions.concise()));
  }

  /** The block as a Typesafe {@link Config} (what the reward factory takes). */
  public Config config() {
    return ConfigFactory.parseString(hocon);
  }
}
