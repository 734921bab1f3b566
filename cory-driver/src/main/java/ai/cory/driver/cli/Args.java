package ai.cory.driver.cli;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Minimal, strict command-line parser: {@code --name value}, {@code --name=value} and boolean
 * {@code --flag}. Every option must be declared by the command; unknown options, missing
 * values and malformed numbers fail with a message naming the option.
 */
public final class Args {
  private final Map<String, String> values;
  private final List<String> positional;

  private Args(Map<String, String> values, List<String> positional) {
    this.values = values;
    this.positional = positional;
  }

  /**
   * Parses {@code argv}.
   *
   * @param valued options that take a value (names without dashes)
   * @param flags  boolean options (names without dashes)
   */
  public static Args parse(String[] argv, Set<String> valued, Set<String> flags) {
    Map<String, String> values = new LinkedHashMap<>();
    List<String> positional = new ArrayList<>();
    for (int i = 0; i < argv.length; i++) {
      String a = argv[i];
      if (!a.startsWith("--")) {
        positional.add(a);
        continue;
      }
      String name = a.substring(2);
      String inline = null;
      int eq = name.indexOf('=');
      if (eq >= 0) {
        inline = name.substring(eq + 1);
        name = name.substring(0, eq);
      }
      if (flags.contains(name)) {
        if (inline != null) {
          throw new UsageException("option --" + name + " takes no value");
        }
        values.put(name, "true");
      } else if (valued.contains(name)) {
        String v = inline;
        if (v == null) {
          if (i + 1 >= argv.length) {
            throw new UsageException("option --" + name + " needs a value");
          }
          v = argv[++i];
        }
        values.put(name, v);
      } else {
        throw new UsageException("unknown option --" + name);
      }
    }
    return new Args(values, Collections.unmodifiableList(positional));
  }

  public boolean has(String name) {
    return values.containsKey(name);
  }

  public boolean flag(String name) {
    return values.containsKey(name);
  }

  public String string(String name, String fallback) {
    return values.getOrDefault(name, fallback);
  }

  public String required(String name) {
    String v = values.get(name);
    if (v == null) {
      throw new UsageException("missing required option --" + name);
    }
    return v;
  }

  public int integer(String name, int fallback) {
    String v = values.get(name);
    if (v == null) {
      return fallback;
    }
    try {
      return Integer.parseInt(v.trim());
    } catch (NumberFormatException e) {
      throw new UsageException("option --" + name + " expects an integer, got '" + v + "'");
    }
  }

  public long longValue(String name, long fallback) {
    String v = values.get(name);
    if (v == null) {
      return fallback;
    }
    try {
      return Long.parseLong(v.trim());
    } catch (NumberFormatException e) {
      throw new UsageException("option --" + name + " expects an integer, got '" + v + "'");
    }
  }

  public double real(String name, double fallback) {
    String v = values.get(name);
    if (v == null) {
      return fallback;
    }
    try {
      return Double.parseDouble(v.trim());
    } catch (NumberFormatException e) {
      throw new UsageException("option --" + name + " expects a number, got '" + v + "'");
    }
  }

  public List<String> positional() {
    return positional;
  }

  /** A user error on the command line: printed with the usage, exit code 2. */
  public static final class UsageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public UsageException(String message) {
      super(message);
    }
  }
}
