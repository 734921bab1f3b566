package ai.cory.driver.report;

import ai.cory.common.cory.AgentId;
import ai.cory.common.metrics.MetricNames;
import ai.cory.driver.report.ReportFigures.Figure;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.jfree.chart.ChartUtils;

/**
 * Writes a report: {@code report.html} and one PNG per figure, side by side, so the directory
 * opens in any browser without a server. Each image reports whether it loaded into its
 * {@code data-loaded} attribute, which is what the browser test reads.
 */
public final class RunReport {
  /** The report's page. */
  public static final String HTML = "report.html";
  /** Figure size in pixels. */
  static final int WIDTH = 900;
  static final int HEIGHT = 420;
  /** Sample rows shown per run. */
  static final int MAX_SAMPLE_ROWS = 500;

  private RunReport() {}

  /**
   * Draws and writes the report of {@code runs}.
   *
   * @param extra   figures to put first (an experiment's frontier), may be empty
   * @param preface HTML to put before the figures (an experiment's summary table), may be empty
   * @return the files written, the page last
   */
  public static List<String> write(List<RunData> runs, ReportOutput out, List<Figure> extra, String preface)
      throws IOException {
    if (runs.isEmpty()) {
      throw new IllegalArgumentException("a report needs at least one run");
    }
    headless();
    List<RunGroup> groups = RunGroup.of(runs);
    List<Figure> figures = new ArrayList<>(extra);
    figures.addAll(ReportFigures.of(groups));
    List<String> written = new ArrayList<>();
    for (Figure f : figures) {
      ByteArrayOutputStream png = new ByteArrayOutputStream();
      ChartUtils.writeChartAsPNG(png, f.chart(), WIDTH, HEIGHT);
      out.write(f.file(), png.toByteArray());
      written.add(f.file());
    }
    out.write(HTML, html(runs, groups, figures, preface).getBytes(StandardCharsets.UTF_8));
    written.add(HTML);
    return written;
  }

  /** Charts are drawn off-screen: no display is needed (or used when there is one). */
  static void headless() {
    if (System.getProperty("java.awt.headless") == null) {
      System.setProperty("java.awt.headless", "true");
    }
  }

  static String html(List<RunData> runs, List<RunGroup> groups, List<Figure> figures, String preface) {
    StringBuilder h = new StringBuilder();
    h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>CORY report: ")
        .append(esc(runs.get(0).name())).append(runs.size() > 1 ? " and " + (runs.size() - 1) + " more" : "")
        .append("</title>\n<style>body{font-family:sans-serif;margin:2em;max-width:1200px}"
            + "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;"
            + "text-align:left;vertical-align:top}td.n{text-align:right;font-family:monospace}"
            + "figure{margin:1.5em 0}figcaption{color:#555}img{max-width:100%}"
            + ".samples td{font-family:monospace;font-size:90%;white-space:pre-wrap}</style>\n"
            + "<script>function loaded(img, ok) { img.setAttribute('data-loaded', "
            + "String(ok && img.naturalWidth > 0)); }</script>\n</head><body>\n");
    h.append("<h1>CORY run report</h1>\n<p>Written ").append(Instant.now().truncatedTo(ChronoUnit.SECONDS))
        .append(" from ").append(runs.size()).append(" run(s) in ").append(groups.size())
        .append(" group(s); runs that differ only by seed are one group, drawn as mean &plusmn; std. Final values: "
            + "mean over the last ").append(RunSummary.TAIL).append(" iterations.</p>\n");
    h.append(preface);
    runsTable(h, runs);
    if (groups.size() > 1 || groups.get(0).runs().size() > 1) {
      h.append("<h2>Groups</h2>\n<table><tr><th>group</th><th>runs</th><th>seeds</th></tr>\n");
      for (RunGroup g : groups) {
        h.append("<tr><td>").append(esc(g.label())).append("</td><td class=n>").append(g.runs().size())
            .append("</td><td>").append(g.seeds()).append("</td></tr>\n");
      }
      h.append("</table>\n");
    }
    h.append("<h2>Figures</h2>\n");
    for (Figure f : figures) {
      h.append("<figure><img src=\"").append(esc(f.file())).append("\" alt=\"").append(esc(f.title()))
          .append("\" width=").append(WIDTH).append(" height=").append(HEIGHT)
          .append(" data-figure=\"").append(esc(f.file())).append("\" onload=\"loaded(this, true)\" "
              + "onerror=\"loaded(this, false)\"><figcaption>").append(esc(f.caption()))
          .append("</figcaption></figure>\n");
    }
    for (RunData r : runs) {
      samples(h, r, r == runs.get(0));
    }
    h.append("</body></html>\n");
    return h.toString();
  }

  private static void runsTable(StringBuilder h, List<RunData> runs) {
    h.append("<h2>Runs</h2>\n<table><tr><th>run</th><th>mode</th><th>seed</th><th>iterations</th>");
    for (AgentId a : AgentId.values()) {
      h.append("<th>").append(a.key()).append(" reward</th><th>").append(a.key()).append(" KL</th>");
    }
    h.append("<th>combined</th><th>peak reward (iteration)</th><th>location</th></tr>\n");
    for (RunData r : runs) {
      RunSummary s = RunSummary.of(r);
      h.append("<tr><td>").append(esc(r.name())).append("</td><td>").append(esc(r.mode())).append("</td><td class=n>")
          .append(r.seed()).append("</td><td class=n>").append(r.size()).append("</td>");
      for (AgentId a : AgentId.values()) {
        boolean has = r.agents().contains(a);
        h.append("<td class=n>").append(has ? num(RunSummary.finalOf(r, a, MetricNames.REWARD_MEAN)) : "")
            .append("</td><td class=n>").append(has ? num(RunSummary.finalOf(r, a, MetricNames.KL)) : "")
            .append("</td>");
      }
      h.append("<td class=n>").append(num(s.combined())).append("</td><td class=n>").append(num(s.peakReward()))
          .append(" (").append(s.peakIteration()).append(")</td><td>").append(esc(r.location())).append("</td></tr>\n");
    }
    h.append("</table>\n");
  }

  private static void samples(StringBuilder h, RunData r, boolean open) {
    if (r.samples().isEmpty()) {
      return;
    }
    h.append("<details").append(open ? " open" : "").append("><summary><b>Samples of ").append(esc(r.name()))
        .append("</b> (query + response; the observer's prompt on hover)</summary>\n<table class=samples>"
            + "<tr><th>iteration</th><th>pioneer</th><th>observer</th></tr>\n");
    List<JsonNode> rows = r.samples();
    int shown = Math.min(rows.size(), MAX_SAMPLE_ROWS);
    for (int i = rows.size() - shown; i < rows.size(); i++) {
      JsonNode s = rows.get(i);
      h.append("<tr><td class=n>").append(s.path("iteration").asLong()).append("</td><td>")
          .append(esc(s.path("pioneer").asText(""))).append("</td><td title=\"")
          .append(esc(s.path("observer_prompt").asText(""))).append("\">").append(esc(s.path("observer").asText("")))
          .append("</td></tr>\n");
    }
    h.append("</table></details>\n");
  }

  static String num(double v) {
    return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.3f", v);
  }

  /** HTML-escapes text for element content and attribute values. */
  static String esc(String s) {
    StringBuilder b = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '<' -> b.append("&lt;");
        case '>' -> b.append("&gt;");
        case '&' -> b.append("&amp;");
        case '"' -> b.append("&quot;");
        case '\'' -> b.append("&#39;");
        default -> b.append(c);
      }
    }
    return b.toString();
  }
}
