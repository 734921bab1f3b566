package ai.cory.driver.cli;

import ai.cory.driver.experiment.ExperimentGrid;
import ai.cory.driver.experiment.ExperimentRunner;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * {@code bin/cory experiment --config FILE --out DIR [--modes ...] [--seeds ...] [--kl-coefs ...]
 * [--kl-targets ...] [--learning-rates ...] [path=value ...]}: a grid of training runs from one
 * config ({@link ExperimentRunner}), resumable, with a summary and a comparison report.
 */
public final class ExperimentCommand implements Command {
  @Override
  public String name() {
    return "experiment";
  }

  @Override
  public String summary() {
    return "run a grid (modes x KL x learning rates x seeds) and compare it: summary + report";
  }

  @Override
  public String usage() {
    return String.join("\n",
        "usage: bin/cory experiment --config FILE --out DIR [--modes cory,ppo] [--seeds 0,1,2]",
        "                           [--kl-coefs 0.01,0.05] [--kl-targets 3,6] [--learning-rates 1e-4,2e-4]",
        "                           [path=value ...]",
        "  --config FILE        the base config of every run",
        "  --out DIR            the experiment directory: runs/<name>/ per run, summary.md, summary.tsv,",
        "                       report.html and its PNGs (with the reward-vs-KL frontier)",
        "  --modes LIST         cory, ppo, cory-no-transfer (observer without the pioneer's answer),",
        "                       cory-no-exchange (no role exchange), cory-no-reset (exchange without",
        "                       resetting Adam, beta and score statistics); default cory,ppo",
        "  --seeds LIST         cory.run.seed values; default 0",
        "  --kl-coefs LIST      initial KL coefficients (ppo.init-kl-coef)",
        "  --kl-targets LIST    adaptive-KL targets (ppo.adaptive-kl=true, ppo.kl-target)",
        "  --learning-rates LIST  ppo.learning-rate values",
        "  path=value           override a setting of every run (applied before the grid's)",
        "Runs one after another in this JVM (each like bin/cory train, cory.workers workers). Re-running",
        "the same command skips finished runs and resumes an interrupted one from its checkpoint.",
        "Exits 5 when a run failed (the others still ran; the summary covers what finished).");
  }

  @Override
  public int run(String[] argv, PrintStream out) throws Exception {
    Args args = Args.parse(argv, Set.of("config", "out", "modes", "seeds", "kl-coefs", "kl-targets",
        "learning-rates"), Set.of());
    Path config = Path.of(args.required("config"));
    Path dir = Path.of(args.required("out"));
    List<ExperimentGrid.Mode> modes = new ArrayList<>();
    for (String m : list(args.string("modes", "cory,ppo"))) {
      modes.add(ExperimentGrid.Mode.of(m));
    }
    List<Long> seeds = new ArrayList<>();
    for (String s : list(args.string("seeds", "0"))) {
      try {
        seeds.add(Long.parseLong(s));
      } catch (NumberFormatException e) {
        throw new Args.UsageException("--seeds: not an integer: '" + s + "'");
      }
    }
    List<String> overrides = new ArrayList<>();
    for (String p : args.positional()) {
      if (!p.contains("=")) {
        throw new Args.UsageException("expected path=value, got '" + p + "'");
      }
      overrides.add(p);
    }
    ExperimentGrid grid;
    try {
      grid = new ExperimentGrid(modes, numbers(args, "kl-coefs"), numbers(args, "kl-targets"),
          numbers(args, "learning-rates"), seeds);
    } catch (IllegalArgumentException e) {
      throw new Args.UsageException(e.getMessage());
    }
    ExperimentRunner.Outcome outcome = ExperimentRunner.run(config, overrides, grid, dir, out);
    out.printf("experiment: %d of %d run(s) finished (%d before this call)%s%n", outcome.finished(),
        grid.runs().size(), outcome.skipped(), outcome.failed().isEmpty() ? "" : "; failed: " + outcome.failed());
    return outcome.failed().isEmpty() ? 0 : 5;
  }

  private static List<String> numbers(Args args, String name) {
    List<String> out = list(args.string(name, ""));
    for (String v : out) {
      try {
        Double.parseDouble(v);
      } catch (NumberFormatException e) {
        throw new Args.UsageException("--" + name + ": not a number: '" + v + "'");
      }
    }
    return out;
  }

  private static List<String> list(String csv) {
    List<String> out = new ArrayList<>();
    for (String s : csv.split(",")) {
      if (!s.isBlank()) {
        out.add(s.trim());
      }
    }
    return out;
  }
}
