package ai.cory.common.config;

/**
 * A configuration error: an unknown key, a missing required value or a bad value. The message
 * names the key's full path (e.g. {@code cory.ppo.batch-size}) and, when known, where it was set
 * (file and line).
 */
public final class SettingsException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  private final String path;

  public SettingsException(String path, String message) {
    super(path + ": " + message);
    this.path = path;
  }

  public SettingsException(String path, String message, Throwable cause) {
    super(path + ": " + message, cause);
    this.path = path;
  }

  /** Full path of the offending key. */
  public String path() {
    return path;
  }
}
