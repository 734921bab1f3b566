package ai.cory.driver.train;

import ai.cory.common.config.Settings;
import ai.cory.driver.cli.Args;
import ai.cory.driver.cli.Command;
import com.typesafe.config.ConfigUtil;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * {@code bin/cory train --config FILE [--run-dir DIR] [path=value ...]}: a whole training run
 * in this JVM ({@link TrainingLoop}). Each {@code path=value} overrides one setting in HOCON
 * syntax ({@code ppo.learning-rate=1e-4}, {@code cory.run.seed=3}; paths are relative to
 * {@code cory}); the settings are validated before anything is loaded.
 */
public final class TrainCommand implements Command {

  @Override
  public String name() {
    return "train";
  }

  @Override
  public String summary() {
    return "train with CORY (or the PPO baseline) from a config file, in this JVM";
  }

  @Override
  public String usage() {
    return String.join("\n",
        "usage: bin/cory train --config FILE [--run-dir DIR] [path=value ...]",
        "  --config FILE   HOCON run config (see conf/*.conf; every key and default is in",
        "                  cory-common/src/main/resources/reference.conf)",
        "  --run-dir DIR   where metrics.jsonl, the resolved config and the exported agents go",
        "                  (default: cory.run.dir)",
        "  path=value      override one setting, HOCON syntax, e.g. ppo.learning-rate=1e-4",
        "                  run.iterations=30 algorithm.mode=ppo",
        "Writes one progress line per iteration to stdout.");
  }

  @Override
  public int run(String[] argv, PrintStream out) throws Exception {
    Args args = Args.parse(argv, Set.of("config", "run-dir"), Set.of());
    Path config = Path.of(args.required("config"));
    List<String> overrides = new ArrayList<>();
    for (String p : args.positional()) {
      if (!p.contains("=")) {
        throw new Args.UsageException("expected path=value, got '" + p + "'");
      }
      overrides.add(p);
    }
    if (args.has("run-dir")) { // recorded in the resolved config like any other setting
      overrides.add("run.dir=" + ConfigUtil.quoteString(args.string("run-dir", null)));
    }
    Settings settings = Settings.load(config, overrides);
    Path runDir = Path.of(settings.run().dir());
    TrainingLoop.run(settings, runDir, out);
    out.println("run directory: " + runDir.toAbsolutePath());
    return 0;
  }
}
