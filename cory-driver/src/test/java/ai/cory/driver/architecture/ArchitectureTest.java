package ai.cory.driver.architecture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The rules of docs/architecture.md, read from the production sources of every module: no package
 * import cycle, {@code cory-common} free of Spark, Aeron and Hadoop, Aeron (and Agrona) only in
 * {@code worker.comm}, no class over 600 lines and no method over 100, and no fully qualified
 * {@code ai.cory} name in code where an import belongs.
 */
final class ArchitectureTest {
  private static final int MAX_CLASS_LINES = 600;
  private static final int MAX_METHOD_LINES = 100;
  private static final Pattern PACKAGE = Pattern.compile("^package ([\\w.]+);", Pattern.MULTILINE);
  private static final Pattern REFERENCE = Pattern.compile("\\b(ai\\.cory(?:\\.[a-z]\\w*)+)\\.[A-Z]");
  private static final Pattern IMPORT = Pattern.compile("^import (?:static )?([\\w.]+);", Pattern.MULTILINE);
  /** A method or constructor declaration opening its body on the same line. */
  private static final Pattern METHOD = Pattern.compile("^\\s+(?!(?:if|for|while|switch|catch|else|try|do|return"
      + "|new|throw|synchronized)\\b)[\\w<>\\[\\],.?@ ]*\\b\\w+\\s*\\([^;]*\\)\\s*(?:throws [\\w., ]+)?\\{\\s*$");
  private static List<Source> sources;

  /** One production source file. */
  private record Source(Path path, String pkg, String text, String code) {
    String module() {
      return path.getName(0).toString();
    }
  }

  @BeforeAll
  static void readSources() throws IOException {
    Path root = Path.of("").toAbsolutePath().getParent();
    assumeTrue(Files.isDirectory(root.resolve("cory-common/src/main/java")), "run from a module of the repository");
    sources = new ArrayList<>();
    for (String module : List.of("cory-common", "cory-worker", "cory-driver")) {
      try (Stream<Path> files = Files.walk(root.resolve(module + "/src/main/java"))) {
        for (Path f : files.filter(p -> p.toString().endsWith(".java")).sorted().toList()) {
          String text = Files.readString(f, StandardCharsets.UTF_8);
          Matcher m = PACKAGE.matcher(text);
          if (!m.find()) {
            throw new IllegalStateException(f + " has no package");
          }
          sources.add(new Source(root.relativize(f), m.group(1), text, withoutCommentsAndStrings(text)));
        }
      }
    }
  }

  /** The code without comments, string and character literals (so Javadoc and messages do not count). */
  static String withoutCommentsAndStrings(String text) {
    String s = text.replaceAll("(?s)\"\"\".*?\"\"\"", "\"\"");
    s = s.replaceAll("(?s)/\\*.*?\\*/", "");
    s = s.replaceAll("\"(?:[^\"\\\\\\n]|\\\\.)*\"", "\"\"");
    s = s.replaceAll("'(?:[^'\\\\\\n]|\\\\.)*'", "''");
    return s.replaceAll("//[^\\n]*", "");
  }

  @Test
  void noPackageDependsOnItselfThroughOthers() {
    Map<String, Set<String>> deps = new TreeMap<>();
    for (Source s : sources) {
      Set<String> mine = deps.computeIfAbsent(s.pkg(), k -> new TreeSet<>());
      Matcher m = REFERENCE.matcher(s.code());
      while (m.find()) {
        if (!m.group(1).equals(s.pkg())) {
          mine.add(m.group(1));
        }
      }
    }
    List<String> cycles = new ArrayList<>();
    for (String pkg : deps.keySet()) {
      for (String dep : deps.get(pkg)) {
        List<String> back = path(deps, dep, pkg);
        if (back != null) {
          cycles.add(pkg + " -> " + String.join(" -> ", back));
        }
      }
    }
    assertEquals(List.of(), cycles, "package cycles");
  }

  /** A dependency path from {@code from} to {@code to}, or null. */
  private static List<String> path(Map<String, Set<String>> deps, String from, String to) {
    Map<String, String> parent = new TreeMap<>();
    Deque<String> queue = new ArrayDeque<>(List.of(from));
    parent.put(from, null);
    while (!queue.isEmpty()) {
      String p = queue.poll();
      if (p.equals(to)) {
        List<String> out = new ArrayList<>();
        for (String q = p; q != null; q = parent.get(q)) {
          out.add(0, q);
        }
        return out;
      }
      for (String d : deps.getOrDefault(p, Set.of())) {
        if (!parent.containsKey(d)) {
          parent.put(d, p);
          queue.add(d);
        }
      }
    }
    return null;
  }

  @Test
  void commonImportsNoSparkAeronOrHadoopAndAeronStaysInComm() {
    List<String> wrong = new ArrayList<>();
    for (Source s : sources) {
      Matcher m = IMPORT.matcher(s.text());
      while (m.find()) {
        String type = m.group(1);
        boolean cluster = type.startsWith("org.apache.spark.") || type.startsWith("org.apache.hadoop.")
            || type.startsWith("scala.");
        boolean aeron = type.startsWith("io.aeron.") || type.startsWith("org.agrona.");
        if (s.module().equals("cory-common") && (cluster || aeron)
            || aeron && !s.pkg().equals("ai.cory.worker.comm")) {
          wrong.add(s.path() + ": " + type);
        }
      }
      if (!s.pkg().equals("ai.cory.worker.comm") && s.code().matches("(?s).*\\b(io\\.aeron|org\\.agrona)\\.\\w.*")) {
        wrong.add(s.path() + ": a fully qualified Aeron name");
      }
    }
    assertEquals(List.of(), wrong);
  }

  @Test
  void noClassOver600LinesNoMethodOver100() {
    List<String> long_ = new ArrayList<>();
    for (Source s : sources) {
      String[] lines = s.text().split("\n", -1);
      if (lines.length > MAX_CLASS_LINES) {
        long_.add(s.path() + ": " + lines.length + " lines");
      }
      String[] code = s.code().split("\n", -1);
      for (int i = 0; i < code.length; i++) {
        if (!METHOD.matcher(code[i]).matches()) {
          continue;
        }
        int depth = 0;
        int j = i;
        for (; j < code.length; j++) {
          depth += count(code[j], '{') - count(code[j], '}');
          if (depth == 0) {
            break;
          }
        }
        if (j - i + 1 > MAX_METHOD_LINES) {
          long_.add(s.path() + ":" + (i + 1) + " " + code[i].strip() + " " + (j - i + 1) + " lines");
        }
      }
    }
    assertEquals(List.of(), long_);
  }

  @Test
  void projectTypesAreImportedNotSpelledOutInCode() {
    List<String> spelled = new ArrayList<>();
    for (Source s : sources) {
      String[] code = s.code().split("\n", -1);
      for (int i = 0; i < code.length; i++) {
        if (!code[i].startsWith("import ") && !code[i].startsWith("package ") && REFERENCE.matcher(code[i]).find()) {
          spelled.add(s.path() + ":" + (i + 1) + " " + code[i].strip());
        }
      }
    }
    assertEquals(List.of(), spelled);
  }

  private static int count(String s, char c) {
    int n = 0;
    for (int i = 0; i < s.length(); i++) {
      if (s.charAt(i) == c) {
        n++;
      }
    }
    return n;
  }

  static {
    // fail early and clearly if a test is run from outside the repository
    try {
      Path.of("").toRealPath();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
