package ai.cory.driver.train;

import com.typesafe.config.ConfigUtil;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * What {@code bin/cory train} runs without {@code --config}: two workers in this JVM
 * ({@code local[2]}, embedded Aeron) on
 * <ul>
 *   <li>{@value #SHARED_CONFIG} (TinyStories 260K, IMDB, the bag-of-words sentiment reward)
 *       when the shared assets exist at {@value #SHARED_DIR} (relative to the working
 *       directory, like that config's paths);
 *   <li>otherwise the self-contained demo preset shipped in this jar ({@value #DEMO_RESOURCES}):
 *       the random byte-level demo model, a few dozen review openings as queries and a word-list
 *       reward, written to {@code <run dir>/inputs/} so the run directory records its inputs.
 * </ul>
 *
 * @param config    the config file to load
 * @param overrides {@code path=value} overrides applied on top (before the user's)
 * @param name      what the run is, for the console
 */
public record DefaultRun(Path config, List<String> overrides, String name) {
  /** The shared assets, relative to the working directory. */
  public static final String SHARED_DIR = "../shared";
  /** The config used when the shared assets exist. */
  public static final String SHARED_CONFIG = "conf/imdb-stories260k.conf";
  /** Where the demo preset lives on the classpath. */
  public static final String DEMO_RESOURCES = "ai/cory/driver/demo/";
  /** Run directory of the demo preset unless {@code --run-dir} says otherwise. */
  public static final String DEMO_RUN_DIR = "runs/demo";
  /** Workers of the default run. */
  public static final int WORKERS = 2;
  private static final List<String> DEMO_FILES = List.of("demo.conf", "prompts.jsonl", "words.tsv");

  public DefaultRun {
    overrides = List.copyOf(overrides);
  }

  /**
   * The default run.
   *
   * @param runDir the user's {@code --run-dir}, or null
   */
  public static DefaultRun resolve(Path workingDir, String runDir) throws IOException {
    Path shared = workingDir.resolve(SHARED_CONFIG);
    if (Files.isDirectory(workingDir.resolve(SHARED_DIR)) && Files.isRegularFile(shared)) {
      return new DefaultRun(shared, List.of("workers=" + WORKERS), "IMDB with stories260K (" + SHARED_CONFIG + ")");
    }
    return demo(workingDir.resolve(runDir != null ? runDir : DEMO_RUN_DIR));
  }

  /** The demo preset, its inputs written to {@code <runDir>/inputs/}. */
  public static DefaultRun demo(Path runDir) throws IOException {
    Path inputs = runDir.resolve("inputs");
    Files.createDirectories(inputs);
    for (String name : DEMO_FILES) {
      try (InputStream in = DefaultRun.class.getClassLoader().getResourceAsStream(DEMO_RESOURCES + name)) {
        if (in == null) {
          throw new IOException("the demo preset is missing from the classpath: " + DEMO_RESOURCES + name);
        }
        Files.copy(in, inputs.resolve(name), StandardCopyOption.REPLACE_EXISTING);
      }
    }
    List<String> overrides = new ArrayList<>();
    overrides.add("run.dir=" + quoted(runDir));
    overrides.add("task.data=" + quoted(inputs.resolve("prompts.jsonl")));
    overrides.add("reward.path=" + quoted(inputs.resolve("words.tsv")));
    return new DefaultRun(inputs.resolve("demo.conf"), overrides, "the demo preset (random byte-level model; "
        + SHARED_DIR + " not found)");
  }

  private static String quoted(Path p) {
    return ConfigUtil.quoteString(p.toString());
  }

  /** The overrides followed by the user's (later ones win). */
  public List<String> withUserOverrides(List<String> user) {
    List<String> all = new ArrayList<>(overrides);
    all.addAll(user);
    return all;
  }
}
