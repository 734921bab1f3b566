package ai.cory.driver.experiment;

import ai.cory.driver.report.RunData;
import ai.cory.driver.report.RunSummary;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * An experiment's summary: one row per setup (mode, KL setting, learning rate), its final task
 * reward, KL and combined reward as mean and standard deviation over the setup's seeds (sample
 * std, n - 1; 0 for one seed), and the mean iteration where the reward peaked.
 */
public record SummaryTable(List<Row> rows) {

  /** One setup's numbers. */
  public record Row(String setup, int runs, List<Long> seeds, double reward, double rewardStd, double kl,
      double klStd, double combined, double combinedStd, double approxKl, double clipFrac, double peakIteration) {}

  public SummaryTable {
    rows = List.copyOf(rows);
  }

  /** The table of runs grouped by setup name, in the map's order. */
  public static SummaryTable of(Map<String, List<RunData>> bySetup) {
    List<Row> rows = new ArrayList<>();
    for (Map.Entry<String, List<RunData>> e : bySetup.entrySet()) {
      List<RunSummary> s = e.getValue().stream().map(RunSummary::of).toList();
      rows.add(new Row(e.getKey(), s.size(), e.getValue().stream().map(RunData::seed).toList(),
          mean(s, RunSummary::reward), std(s, RunSummary::reward), mean(s, RunSummary::kl), std(s, RunSummary::kl),
          mean(s, RunSummary::combined), std(s, RunSummary::combined), mean(s, RunSummary::approxKl),
          mean(s, RunSummary::clipFrac), mean(s, x -> x.peakIteration())));
    }
    return new SummaryTable(rows);
  }

  static double mean(List<RunSummary> s, ToDoubleFunction<RunSummary> f) {
    return s.stream().mapToDouble(f).average().orElse(Double.NaN);
  }

  static double std(List<RunSummary> s, ToDoubleFunction<RunSummary> f) {
    if (s.size() < 2) {
      return 0;
    }
    double m = mean(s, f);
    double ss = s.stream().mapToDouble(f).map(x -> (x - m) * (x - m)).sum();
    return Math.sqrt(ss / (s.size() - 1));
  }

  private static final String[] HEAD = {"setup", "runs", "seeds", "final reward", "final KL", "final combined",
      "approxkl", "clipfrac", "peak iteration"};

  /** Tab-separated, with mean and std in separate columns (for scripts). */
  public String tsv() {
    StringBuilder b = new StringBuilder("setup\truns\tseeds\treward_mean\treward_std\tkl_mean\tkl_std\t"
        + "combined_mean\tcombined_std\tapproxkl_mean\tclipfrac_mean\tpeak_iteration_mean\n");
    for (Row r : rows) {
      b.append(String.format(Locale.ROOT, "%s\t%d\t%s\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.1f%n",
          r.setup(), r.runs(), join(r.seeds()), r.reward(), r.rewardStd(), r.kl(), r.klStd(), r.combined(),
          r.combinedStd(), r.approxKl(), r.clipFrac(), r.peakIteration()));
    }
    return b.toString();
  }

  /** A Markdown table, mean +- std. */
  public String markdown() {
    StringBuilder b = new StringBuilder("| " + String.join(" | ", HEAD) + " |\n|");
    for (int i = 0; i < HEAD.length; i++) {
      b.append(i == 0 ? "---|" : "---:|");
    }
    b.append('\n');
    for (Row r : rows) {
      b.append(String.format(Locale.ROOT, "| %s | %d | %s | %.3f ± %.3f | %.2f ± %.2f | %.3f ± %.3f | %.3f | %.3f | %.1f |%n",
          r.setup(), r.runs(), join(r.seeds()), r.reward(), r.rewardStd(), r.kl(), r.klStd(), r.combined(),
          r.combinedStd(), r.approxKl(), r.clipFrac(), r.peakIteration()));
    }
    return b.toString();
  }

  /** An HTML table, mean +- std. */
  public String html() {
    StringBuilder b = new StringBuilder("<table><tr>");
    for (String h : HEAD) {
      b.append("<th>").append(h).append("</th>");
    }
    b.append("</tr>\n");
    for (Row r : rows) {
      b.append(String.format(Locale.ROOT, "<tr><td>%s</td><td class=n>%d</td><td>%s</td><td class=n>%.3f &plusmn; %.3f"
          + "</td><td class=n>%.2f &plusmn; %.2f</td><td class=n>%.3f &plusmn; %.3f</td><td class=n>%.3f</td>"
          + "<td class=n>%.3f</td><td class=n>%.1f</td></tr>%n",
          r.setup().replace("<", "&lt;"), r.runs(), join(r.seeds()), r.reward(), r.rewardStd(), r.kl(), r.klStd(),
          r.combined(), r.combinedStd(), r.approxKl(), r.clipFrac(), r.peakIteration()));
    }
    return b.append("</table>\n").toString();
  }

  private static String join(List<Long> seeds) {
    return String.join(",", seeds.stream().map(String::valueOf).toList());
  }
}
