package ai.cory.driver.cli;

import ai.cory.driver.report.ReportOutput;
import ai.cory.driver.report.RunData;
import ai.cory.driver.report.RunReport;
import ai.cory.driver.spark.SparkSessions;
import ai.cory.worker.store.FileSources;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;

/**
 * {@code bin/cory report RUN_DIR [RUN_DIR ...] [--out DIR]}: the HTML report of one or more runs
 * ({@link RunReport}), from their run directories or stores, local paths or Hadoop URIs. Works
 * on a run that is still training (it reads as far as the run got).
 */
public final class ReportCommand implements Command {
  @Override
  public String name() {
    return "report";
  }

  @Override
  public String summary() {
    return "write report.html and its figures (PNG) for one or more run directories";
  }

  @Override
  public String usage() {
    return String.join("\n",
        "usage: bin/cory report RUN_DIR [RUN_DIR ...] [--out DIR]",
        "  RUN_DIR     a run directory (local path or Hadoop URI: hdfs://, s3a://, file://) with",
        "              metrics.jsonl, samples.jsonl and config.conf; a live run reads as far as it got",
        "  --out DIR   where report.html and the PNGs go (default: the first RUN_DIR)",
        "Runs whose settings differ only by cory.run.seed are drawn as one group, mean +- std.");
  }

  @Override
  public int run(String[] argv, PrintStream out) throws Exception {
    Args args = Args.parse(argv, Set.of("out"), Set.of());
    if (args.positional().isEmpty()) {
      throw new Args.UsageException("give at least one run directory");
    }
    Configuration hadoop = SparkSessions.hadoop(SparkSessions.submitted());
    List<RunData> runs = new ArrayList<>();
    for (String location : args.positional()) {
      runs.add(RunData.read(location, FileSources.open(location, hadoop)));
    }
    ReportOutput output = ReportOutput.open(args.string("out", args.positional().get(0)), hadoop);
    List<String> files = RunReport.write(runs, output, List.of(), "");
    out.println("report: " + output.describe(RunReport.HTML) + " (" + (files.size() - 1) + " figures, "
        + runs.size() + " run(s))");
    return 0;
  }
}
