package ai.cory.driver.architecture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
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
  /** A statement that opens a block but is no method: control flow. */
  private static final Pattern CONTROL = Pattern.compile("^(?:if|for|while|switch|catch|synchronized|else|try|do"
      + "|finally)\\b");
  /** Declarations and expressions whose block is no method body. */
  private static final Pattern NOT_A_METHOD = Pattern.compile("\\b(?:new|record|class|enum|interface)\\b|->");
  private static final Pattern THROWS = Pattern.compile("\\s*throws\\s+[\\w.,\\s<>]+$");
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
      long_.addAll(longMethods(s, MAX_METHOD_LINES));
    }
    assertEquals(List.of(), long_);
  }

  /** The length rule itself: a method is measured whatever its declaration spans; blocks are not methods. */
  @Test
  void theMethodRuleMeasuresDeclarationToClosingBrace() {
    String body = "    x++;\n".repeat(96); // wrapped: 4 + 96 + 1 = 101 lines, fits: 1 + 98 + 1 = 100
    String text = "class T {\n"
        + "  @Override\n  public void wrapped(int a,\n      int b) throws java.io.IOException {\n" + body + "  x++;\n  }\n"
        + "  void fits() {\n" + body + "  x++;\n    x++;\n  }\n"
        + "  void blocks() {\n    if (a) {\n" + body + "    }\n    Runnable r = () -> {\n    };\n  }\n"
        + "}\n";
    Source src = new Source(Path.of("T.java"), "t", text, withoutCommentsAndStrings(text));
    List<String> found = longMethods(src, 100);
    assertEquals(2, found.size(), found.toString());
    assertTrue(found.get(0).contains("wrapped(int a, int b)") && found.get(0).endsWith("101 lines"), found.get(0));
    assertTrue(found.get(1).contains("blocks()") && found.get(1).endsWith("102 lines"), found.get(1));
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

  /**
   * Every method or constructor of {@code source} longer than {@code max} lines, declaration to
   * closing brace: a block opened right after a parameter list (and a throws clause) that is not
   * control flow, a type declaration, an anonymous class or a lambda.
   */
  static List<String> longMethods(Source source, int max) {
    String code = source.code();
    List<String> out = new ArrayList<>();
    int last = 0;
    for (int i = 0; i < code.length(); i++) {
      char ch = code.charAt(i);
      if (ch == ';' || ch == '}') {
        last = i + 1;
      } else if (ch == '{') {
        String statement = code.substring(last, i).strip();
        int start = last + code.substring(last, i).indexOf(statement);
        last = i + 1;
        String head = THROWS.matcher(statement).replaceFirst("");
        if (!head.endsWith(")") || CONTROL.matcher(statement).find() || NOT_A_METHOD.matcher(statement).find()) {
          continue;
        }
        int end = closingBrace(code, i);
        int lines = count(code.substring(start, end), '\n') + 1;
        if (lines > max) {
          out.add(source.path() + ":" + (count(code.substring(0, start), '\n') + 1) + " "
              + statement.lines().map(String::strip).reduce((a, b) -> a + " " + b).orElse("") + ": " + lines
              + " lines");
        }
      }
    }
    return out;
  }

  private static int closingBrace(String code, int open) {
    int depth = 0;
    for (int j = open; j < code.length(); j++) {
      if (code.charAt(j) == '{') {
        depth++;
      } else if (code.charAt(j) == '}' && --depth == 0) {
        return j;
      }
    }
    return code.length() - 1;
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
}
