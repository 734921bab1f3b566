package ai.cory.driver.experiment;

import ai.cory.common.config.Settings;
import ai.cory.common.io.LocalFileSource;
import ai.cory.common.metrics.RunFiles;
import ai.cory.driver.experiment.ExperimentGrid.Run;
import ai.cory.driver.report.ReportFigures;
import ai.cory.driver.report.ReportOutput;
import ai.cory.driver.report.RunData;
import ai.cory.driver.report.RunReport;
import ai.cory.driver.report.RunSummary;
import ai.cory.driver.train.TrainingLoop;
import com.typesafe.config.ConfigUtil;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;

/**
 * Runs an {@link ExperimentGrid} one run after another in this JVM, each in
 * {@code OUT/runs/<name>/} with its training log in {@code train.log}, then writes the summary
 * ({@code summary.md}, {@code summary.tsv}) and the comparison report with the reward-vs-KL
 * frontier into {@code OUT}. Every run's settings are validated before the first starts. A run
 * with {@code finished.json} is skipped, an unfinished one resumes from its last checkpoint (the
 * training loop's own resume), a failed one is reported and the grid goes on.
 */
public final class ExperimentRunner {
  /** Where the runs go, inside the experiment directory. */
  public static final String RUNS = "runs";
  public static final String SUMMARY_MD = "summary.md";
  public static final String SUMMARY_TSV = "summary.tsv";

  private ExperimentRunner() {}

  /** What a grid did: runs finished (now or before), skipped as already finished, failed. */
  public record Outcome(int finished, int skipped, List<String> failed) {}

  /**
   * Runs the grid.
   *
   * @param config    the base config every run starts from
   * @param overrides the user's {@code path=value} overrides, applied before the grid's
   */
  public static Outcome run(Path config, List<String> overrides, ExperimentGrid grid, Path out, PrintStream progress)
      throws IOException, InterruptedException {
    List<Run> runs = grid.runs();
    Map<Run, Settings> settings = new LinkedHashMap<>();
    for (Run r : runs) { // every run's settings, validated before anything starts
      List<String> all = new ArrayList<>(overrides);
      all.addAll(r.overrides());
      all.add("run.dir=" + ConfigUtil.quoteString(out.resolve(RUNS).resolve(r.name()).toString()));
      settings.put(r, Settings.load(config, all));
    }
    Files.createDirectories(out.resolve(RUNS));
    progress.printf(Locale.ROOT, "experiment: %d run(s) of %s into %s%n", runs.size(), config, out.toAbsolutePath());
    int finished = 0;
    int skipped = 0;
    List<String> failed = new ArrayList<>();
    long started = System.nanoTime();
    int ran = 0;
    for (int i = 0; i < runs.size(); i++) {
      Run r = runs.get(i);
      Path dir = out.resolve(RUNS).resolve(r.name());
      String head = String.format(Locale.ROOT, "[%d/%d] %s", i + 1, runs.size(), r.name());
      if (Files.exists(dir.resolve(RunFiles.FINISHED))) {
        progress.println(head + ": finished before, skipped");
        skipped++;
        finished++;
        continue;
      }
      long t0 = System.nanoTime();
      Files.createDirectories(dir);
      try (OutputStream log = Files.newOutputStream(dir.resolve("train.log"), StandardOpenOption.CREATE,
          StandardOpenOption.APPEND); PrintStream runLog = new PrintStream(log, true, StandardCharsets.UTF_8)) {
        TrainingLoop.run(settings.get(r), dir, runLog);
        finished++;
        RunSummary s = RunSummary.of(RunData.read(dir.toString(), new LocalFileSource(dir)));
        progress.printf(Locale.ROOT, "%s: %.0f s | final reward %.3f KL %.2f combined %.3f%s%n", head,
            (System.nanoTime() - t0) / 1e9, s.reward(), s.kl(), s.combined(), eta(started, ++ran, runs.size() - i - 1));
      } catch (IOException | RuntimeException e) {
        failed.add(r.name());
        progress.println(head + ": FAILED (" + e.getMessage() + "); its log: " + dir.resolve("train.log"));
      }
      progress.flush();
    }
    summarize(runs, out, progress);
    return new Outcome(finished, skipped, failed);
  }

  private static String eta(long started, int ran, int left) {
    if (left == 0) {
      return "";
    }
    double perRun = (System.nanoTime() - started) / 1e9 / ran;
    return String.format(Locale.ROOT, " | %d left, ETA %.0f min", left, perRun * left / 60);
  }

  /** The summary table and comparison report of every run of the grid that has logged anything. */
  static void summarize(List<Run> runs, Path out, PrintStream progress) throws IOException {
    List<RunData> data = new ArrayList<>();
    Map<String, List<RunData>> bySetup = new LinkedHashMap<>();
    List<Object[]> points = new ArrayList<>();
    for (Run r : runs) {
      Path dir = out.resolve(RUNS).resolve(r.name());
      if (!Files.exists(dir.resolve(RunFiles.METRICS))) {
        continue;
      }
      RunData d = RunData.read(out.relativize(dir).toString(), new LocalFileSource(dir));
      if (d.size() == 0) {
        continue;
      }
      data.add(d);
      bySetup.computeIfAbsent(ExperimentGrid.setupOf(r.name()), k -> new ArrayList<>()).add(d);
      RunSummary s = RunSummary.of(d);
      points.add(new Object[] {r.mode().key(), s.kl(), s.reward()});
    }
    if (data.isEmpty()) {
      progress.println("experiment: no run has logged an iteration yet; no summary");
      return;
    }
    SummaryTable table = SummaryTable.of(bySetup);
    Files.writeString(out.resolve(SUMMARY_TSV), table.tsv(), StandardCharsets.UTF_8);
    Files.writeString(out.resolve(SUMMARY_MD), table.markdown(), StandardCharsets.UTF_8);
    ReportFigures.Figure frontier = ReportFigures.frontier(points, "Each point is one run: its final task reward "
        + "against its final KL (means over the last " + RunSummary.TAIL + " iterations and over the run's agents).");
    RunReport.write(data, ReportOutput.open(out.toString(), new Configuration()), List.of(frontier),
        "<h2>Summary</h2>\n" + table.html());
    progress.print(table.markdown());
    progress.println("experiment report: " + out.resolve(RunReport.HTML).toAbsolutePath());
  }
}
