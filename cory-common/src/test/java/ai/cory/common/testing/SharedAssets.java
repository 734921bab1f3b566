package ai.cory.common.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Locates the read-only {@code ../shared} material (models, tokenizers, goldens). Tests that
 * need it call these methods, which skip the test (JUnit assumption) when it is absent, so the
 * README test command passes outside the repository's home.
 */
public final class SharedAssets {
  private static final ObjectMapper JSON = new ObjectMapper();

  private SharedAssets() {}

  /** The shared root: system property {@code cory.shared.dir} (set by surefire), else ../shared. */
  public static Path root() {
    String prop = System.getProperty("cory.shared.dir");
    Path p = prop != null ? Path.of(prop) : Path.of("..", "shared");
    assumeTrue(Files.isDirectory(p.resolve("assets")), "shared assets not found at " + p.toAbsolutePath());
    return p.toAbsolutePath().normalize();
  }

  /** {@code assets/models/<name>}, e.g. "stories260K", "tiny-gpt2". */
  public static Path model(String name) {
    return existing(root().resolve("assets/models").resolve(name));
  }

  /** {@code assets/tokenizers/<name>}, e.g. "gpt2", "llama2". */
  public static Path tokenizer(String name) {
    return existing(root().resolve("assets/tokenizers").resolve(name));
  }

  /** Any path under the shared root. */
  public static Path path(String relative) {
    return existing(root().resolve(relative));
  }

  /** Parsed {@code golden/<file>}. */
  public static JsonNode golden(String file) {
    Path p = existing(root().resolve("golden").resolve(file));
    try {
      return JSON.readTree(p.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot parse golden " + p, e);
    }
  }

  private static Path existing(Path p) {
    assumeTrue(Files.exists(p), "shared asset not found: " + p);
    return p;
  }
}
