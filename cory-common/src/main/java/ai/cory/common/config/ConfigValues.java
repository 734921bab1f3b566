package ai.cory.common.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigValue;
import java.util.Locale;
import java.util.OptionalDouble;

/**
 * Typed reads of one resolved config with errors that name the key's full path, the expected
 * kind of value and where the value was set. Package-private: {@link Settings} is the only
 * reader of configuration.
 */
final class ConfigValues {
  private final Config config;

  ConfigValues(Config config) {
    this.config = config;
  }

  Config config() {
    return config;
  }

  String string(String path) {
    requirePresent(path);
    try {
      return config.getString(path);
    } catch (ConfigException.WrongType e) {
      throw bad(path, "must be a string, got " + describe(path));
    }
  }

  /** A string that must be set (reference.conf has null there). */
  String requiredString(String path, String what) {
    if (config.getIsNull(path)) {
      throw new SettingsException(path, "is required: " + what);
    }
    String s = string(path);
    if (s.isBlank()) {
      throw bad(path, "must not be blank (" + what + ")");
    }
    return s;
  }

  /** A string, or null when the value is null. */
  String nullableString(String path) {
    return config.getIsNull(path) ? null : string(path);
  }

  boolean bool(String path) {
    requirePresent(path);
    try {
      return config.getBoolean(path);
    } catch (ConfigException.WrongType e) {
      throw bad(path, "must be true or false, got " + describe(path));
    }
  }

  long longValue(String path) {
    requirePresent(path);
    try {
      return config.getLong(path);
    } catch (ConfigException.WrongType e) {
      throw bad(path, "must be an integer, got " + describe(path));
    }
  }

  int intAtLeast(String path, int min) {
    requirePresent(path);
    int v;
    try {
      v = config.getInt(path);
    } catch (ConfigException.WrongType e) {
      throw bad(path, "must be an integer, got " + describe(path));
    }
    if (v < min) {
      throw bad(path, "must be >= " + min + ", got " + v);
    }
    return v;
  }

  double finite(String path) {
    requirePresent(path);
    double v;
    try {
      v = config.getDouble(path);
    } catch (ConfigException.WrongType e) {
      throw bad(path, "must be a number, got " + describe(path));
    }
    if (!Double.isFinite(v)) {
      throw bad(path, "must be finite, got " + v);
    }
    return v;
  }

  double positive(String path) {
    double v = finite(path);
    if (!(v > 0)) {
      throw bad(path, "must be > 0, got " + v);
    }
    return v;
  }

  double nonNegative(String path) {
    double v = finite(path);
    if (!(v >= 0)) {
      throw bad(path, "must be >= 0, got " + v);
    }
    return v;
  }

  double inRange(String path, double lo, boolean loInclusive, double hi, boolean hiInclusive) {
    double v = finite(path);
    boolean ok = (loInclusive ? v >= lo : v > lo) && (hiInclusive ? v <= hi : v < hi);
    if (!ok) {
      throw bad(path, "must be in " + (loInclusive ? "[" : "(") + lo + ", " + hi + (hiInclusive ? "]" : ")")
          + ", got " + v);
    }
    return v;
  }

  /** A positive number or null (= absent). */
  OptionalDouble positiveOrNull(String path) {
    if (config.getIsNull(path)) {
      return OptionalDouble.empty();
    }
    return OptionalDouble.of(positive(path));
  }

  /** One of the enum's constants, spelled case-insensitively with '-' for '_'. */
  <E extends Enum<E>> E enumValue(String path, Class<E> type) {
    String raw = string(path);
    String normal = raw.trim().toUpperCase(Locale.ROOT).replace('-', '_');
    StringBuilder allowed = new StringBuilder();
    for (E e : type.getEnumConstants()) {
      if (e.name().equals(normal)) {
        return e;
      }
      allowed.append(allowed.length() == 0 ? "" : ", ").append(e.name().toLowerCase(Locale.ROOT).replace('_', '-'));
    }
    throw bad(path, "must be one of " + allowed + ", got '" + raw + "'");
  }

  SettingsException bad(String path, String message) {
    return new SettingsException(path, message + where(path));
  }

  private void requirePresent(String path) {
    if (!config.hasPathOrNull(path)) {
      throw new SettingsException(path, "is missing");
    }
    if (config.getIsNull(path)) {
      throw new SettingsException(path, "must be set (it is null)" + where(path));
    }
  }

  private String describe(String path) {
    ConfigValue v = config.getValue(path);
    return v.valueType().name().toLowerCase(Locale.ROOT) + " " + v.render();
  }

  /** " (set at FILE: LINE)" when the value has a known origin. */
  String where(String path) {
    if (!config.hasPathOrNull(path)) {
      return "";
    }
    ConfigValue v = config.hasPath(path) ? config.getValue(path) : null;
    if (v == null) {
      return "";
    }
    return " (set at " + v.origin().description() + ")";
  }
}
