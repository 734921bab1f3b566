package ai.cory.driver.bench;

import ai.cory.common.config.Settings;
import ai.cory.common.metrics.MetricNames;
import ai.cory.driver.train.DefaultRun;
import ai.cory.driver.train.TrainingLoop;
import ai.cory.worker.train.IterationReport;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * The time split of whole CORY iterations (bench-comm's last section): a short run on W workers
 * in {@code local[W]} (Aeron IPC) through the real driver, a checkpoint after every iteration,
 * in a temporary run directory that is deleted afterwards. One JSON line per iteration with its
 * {@code time/*} metrics (seconds), then their medians over the iterations after the first
 * (which also loads the replicas and connects the ring). {@code sync} is the time inside
 * collectives, waiting for the slower worker included.
 */
final class IterationSplitBench {
  /** The {@code time/*} metrics reported, in order. */
  private static final List<String> PARTS =
      List.of("rollout", "reward", "train", "sync", "checkpoint", "iteration", "setup", "stage");

  private IterationSplitBench() {}

  /**
   * @param config     run config, or null for the built-in demo preset
   * @param workers    W
   * @param iterations iterations to run ({@code >= 2}: the first is excluded from the medians)
   * @param overrides  further {@code path=value} settings
   */
  static void run(Path config, int workers, int iterations, List<String> overrides, PrintStream out)
      throws Exception {
    if (iterations < 2) {
      throw new IllegalArgumentException("--split-iterations must be >= 2 (the first is warm-up), got " + iterations);
    }
    Path runDir = Files.createTempDirectory("cory-bench-split");
    try {
      DefaultRun demo = config == null ? DefaultRun.demo(runDir) : null;
      List<String> all = new ArrayList<>(demo != null ? demo.overrides() : List.of());
      all.addAll(overrides);
      all.addAll(List.of("workers=" + workers, "run.iterations=" + iterations, "runtime.checkpoint-every=1",
          "runtime.resume=false", "run.export-final=false", "run.store=null"));
      Settings settings = Settings.load(demo != null ? demo.config() : config, all);
      List<IterationReport> reports = TrainingLoop.run(settings, runDir, new PrintStream(OutputStream.nullOutputStream()));
      double[][] seconds = new double[PARTS.size()][reports.size()];
      for (IterationReport r : reports) {
        Json line = new Json().put("bench", "iteration_split").put("workers", workers)
            .put("iteration", r.iteration());
        for (int p = 0; p < PARTS.size(); p++) {
          double s = r.metrics().getOrDefault(MetricNames.TIME_PREFIX + PARTS.get(p), 0.0);
          seconds[p][(int) r.iteration()] = s;
          line.put(PARTS.get(p) + "_s", s);
        }
        out.println(line);
      }
      Json median = new Json().put("bench", "iteration_split_median").put("workers", workers)
          .put("config", config == null ? "demo" : config.toString()).put("iterations", iterations - 1);
      for (int p = 0; p < PARTS.size(); p++) {
        median.put(PARTS.get(p) + "_s",
            BenchCommand.median(BenchCommand.sortedCopy(Arrays.copyOfRange(seconds[p], 1, seconds[p].length))));
      }
      out.println(median);
    } finally {
      deleteTree(runDir);
    }
  }

  private static void deleteTree(Path root) throws IOException {
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
