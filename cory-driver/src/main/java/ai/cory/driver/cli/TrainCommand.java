package ai.cory.driver.cli;

import ai.cory.common.config.Settings;
import ai.cory.driver.train.DefaultRun;
import ai.cory.driver.train.TrainingLoop;
import com.typesafe.config.ConfigUtil;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * {@code bin/cory train [--config FILE] [--run-dir DIR] [path=value ...]}: a whole training run
 * on {@code cory.workers} data-parallel workers, each iteration one Spark barrier stage
 * ({@link TrainingLoop}); by default in this JVM ({@code local[W]}), or on the cluster of
 * {@code spark-submit} / {@code cory.runtime.master}. Without {@code --config} it runs the
 * default run ({@link DefaultRun}: two workers on the stories260K IMDB config when
 * {@code ../shared} exists, else on the built-in demo preset). Each {@code path=value} overrides
 * one setting in HOCON syntax ({@code ppo.learning-rate=1e-4}, {@code cory.run.seed=3}; paths
 * are relative to {@code cory}); the settings are validated before anything is loaded.
 */
public final class TrainCommand implements Command {

  @Override
  public String name() {
    return "train";
  }

  @Override
  public String summary() {
    return "train with CORY (or the PPO baseline) on W workers; no --config: the default run";
  }

  @Override
  public String usage() {
    return String.join("\n",
        "usage: bin/cory train [--config FILE] [--run-dir DIR] [path=value ...]",
        "  --config FILE   HOCON run config (see conf/*.conf; every key and default is in",
        "                  cory-common/src/main/resources/reference.conf). Without it: 2 workers",
        "                  (local[2]) on " + DefaultRun.SHARED_CONFIG + " when " + DefaultRun.SHARED_DIR + " exists,",
        "                  else on the built-in demo preset (random byte-level model, run dir " + DefaultRun.DEMO_RUN_DIR + ")",
        "  --run-dir DIR   where metrics.jsonl, the resolved config and the exported agents go",
        "                  (default: cory.run.dir)",
        "  path=value      override one setting, HOCON syntax, e.g. ppo.learning-rate=1e-4",
        "                  run.iterations=30 algorithm.mode=ppo workers=2",
        "Workers: cory.workers (W) Spark barrier tasks per iteration, on local[W] unless spark-submit",
        "or cory.runtime.master names a cluster. Writes one progress line per iteration to stdout.");
  }

  /**
   * The settings of {@code --config FILE} (or the default run {@code preset} when null) with the
   * positional {@code path=value} overrides and {@code --run-dir}, validated.
   */
  static Settings settings(Args args, DefaultRun preset) throws IOException {
    Path config = preset != null ? preset.config() : Path.of(args.required("config"));
    List<String> overrides = new ArrayList<>(preset != null ? preset.overrides() : List.of());
    for (String p : args.positional()) {
      if (!p.contains("=")) {
        throw new Args.UsageException("expected path=value, got '" + p + "'");
      }
      overrides.add(p);
    }
    if (args.has("run-dir")) { // recorded in the resolved config like any other setting
      overrides.add("run.dir=" + ConfigUtil.quoteString(args.string("run-dir", null)));
    }
    return Settings.load(config, overrides);
  }

  @Override
  public int run(String[] argv, PrintStream out) throws Exception {
    Args args = Args.parse(argv, Set.of("config", "run-dir"), Set.of());
    DefaultRun preset = args.has("config") ? null : DefaultRun.resolve(Path.of(""), args.string("run-dir", null));
    Settings settings = settings(args, preset);
    Path runDir = Path.of(settings.run().dir());
    if (preset != null) {
      out.println("bin/cory train: no --config, running " + preset.name() + " on " + settings.runtime().workers()
          + " workers");
    }
    TrainingLoop.run(settings, runDir, out);
    out.println("run directory: " + runDir.toAbsolutePath());
    return 0;
  }
}
