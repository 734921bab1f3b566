package ai.cory.common.cuda;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The parameter list of one kernel entry point as its CUDA C source declares it, so every launch
 * is checked before it reaches the driver: a wrong count or type would otherwise be undefined
 * behaviour on the device. Java argument types: pointers and {@code long long} take a
 * {@code Long}, {@code int} an {@code Integer}, {@code float} a {@code Float}, {@code double} a
 * {@code Double}.
 */
public record KernelSignature(String name, List<Param> params) {
  /** One declared parameter. */
  public record Param(String declaration, Kind kind) {}

  /** How a parameter is passed. */
  public enum Kind {
    POINTER(Long.class), LONG(Long.class), INT(Integer.class), FLOAT(Float.class),
    DOUBLE(Double.class);

    final Class<?> javaType;

    Kind(Class<?> javaType) {
      this.javaType = javaType;
    }
  }

  private static final Pattern ENTRY = Pattern.compile("extern\\s+\"C\"\\s+__global__\\s+void\\s+"
      + "(?:__launch_bounds__\\([^)]*\\)\\s+)?(\\w+)\\s*\\(([^)]*)\\)", Pattern.DOTALL);

  /** Every entry point of {@code text}, in source order. */
  static Map<String, KernelSignature> parse(String text) {
    Map<String, KernelSignature> out = new LinkedHashMap<>();
    Matcher m = ENTRY.matcher(text);
    while (m.find()) {
      List<Param> params = new ArrayList<>();
      for (String p : m.group(2).split(",")) {
        String decl = p.trim().replaceAll("\\s+", " ");
        if (!decl.isEmpty()) {
          params.add(new Param(decl, kind(m.group(1), decl)));
        }
      }
      out.put(m.group(1), new KernelSignature(m.group(1), List.copyOf(params)));
    }
    return Collections.unmodifiableMap(out);
  }

  private static Kind kind(String kernel, String decl) {
    if (decl.contains("*")) {
      return Kind.POINTER;
    }
    String type = decl.substring(0, decl.lastIndexOf(' ')).replace("const ", "").trim();
    return switch (type) {
      case "long long", "unsigned long long" -> Kind.LONG;
      case "int", "unsigned int" -> Kind.INT;
      case "float" -> Kind.FLOAT;
      case "double" -> Kind.DOUBLE;
      default -> throw new IllegalStateException(kernel + ": parameter '" + decl
          + "' has a type the launcher cannot pass");
    };
  }

  /** Throws naming the kernel, the argument and the declaration when {@code args} do not fit. */
  public void check(Object[] args) {
    if (args.length != params.size()) {
      throw new IllegalArgumentException("kernel " + name + " takes " + params.size()
          + " arguments " + declarations() + ", got " + args.length);
    }
    for (int i = 0; i < args.length; i++) {
      Param p = params.get(i);
      if (args[i] == null || args[i].getClass() != p.kind().javaType) {
        throw new IllegalArgumentException("kernel " + name + " argument " + i + " ("
            + p.declaration() + ") needs a " + p.kind().javaType.getSimpleName() + ", got "
            + (args[i] == null ? "null" : args[i].getClass().getSimpleName() + " " + args[i]));
      }
    }
  }

  private String declarations() {
    List<String> d = new ArrayList<>();
    for (Param p : params) {
      d.add(p.declaration());
    }
    return "(" + String.join(", ", d) + ")";
  }
}
