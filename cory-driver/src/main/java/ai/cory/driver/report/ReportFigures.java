package ai.cory.driver.report;

import ai.cory.common.cory.AgentId;
import ai.cory.common.cory.Role;
import ai.cory.common.metrics.MetricNames;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.function.ToDoubleBiFunction;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.DeviationRenderer;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;
import org.jfree.data.xy.YIntervalSeries;
import org.jfree.data.xy.YIntervalSeriesCollection;

/**
 * The figures of a run report, drawn with JFreeChart: one line per group and agent (or role, or
 * metric), the mean over the group's seeds with a +-1 std band, role exchanges as dashed
 * verticals between the iterations they separate.
 */
public final class ReportFigures {
  /** A figure: its PNG file name, title, caption and chart. */
  public record Figure(String file, String title, String caption, JFreeChart chart) {}

  /** One line of a figure: its label and the value it takes at a run's row. */
  record Curve(String label, ToDoubleBiFunction<RunData, Integer> value) {}

  static final Color[] PALETTE = {new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c),
      new Color(0xff7f0e), new Color(0x9467bd), new Color(0x8c564b), new Color(0xe377c2), new Color(0x7f7f7f),
      new Color(0xbcbd22), new Color(0x17becf)};

  private ReportFigures() {}

  /** Every figure of a report on {@code groups}; figures with no data in any run are left out. */
  public static List<Figure> of(List<RunGroup> groups) {
    List<Figure> out = new ArrayList<>();
    add(out, groups, "reward_agent", "Task reward per agent", "env/reward_mean, each agent's own task reward",
        byAgent(MetricNames.REWARD_MEAN));
    add(out, groups, "reward_role", "Task reward per role", "env/reward_mean of whichever agent held the role",
        byRole(MetricNames.REWARD_MEAN));
    add(out, groups, "reward_collective", "Collective reward", "env/reward_collective: r_pioneer + r_observer "
        + "(PPO: its own reward)", List.of(plain("R_c", MetricNames.REWARD_COLLECTIVE)));
    add(out, groups, "kl_agent", "KL to the reference per agent", "objective/kl, summed over a response, "
        + "mean over the batch", byAgent(MetricNames.KL));
    add(out, groups, "kl_coef_agent", "KL coefficient per agent", "objective/kl_coef (beta)",
        byAgent(MetricNames.KL_COEF));
    add(out, groups, "combined_agent", "Combined reward per agent", "objective/combined = r - beta * KL",
        byAgent(MetricNames.COMBINED));
    List<Curve> losses = new ArrayList<>(prefixed("policy ", byAgent(MetricNames.LOSS_POLICY)));
    losses.addAll(prefixed("value ", byAgent(MetricNames.LOSS_VALUE)));
    add(out, groups, "losses", "PPO losses", "ppo/loss/policy and ppo/loss/value per agent", losses);
    add(out, groups, "entropy", "Entropy per agent", "objective/entropy: summed negative log-probability "
        + "of a response", byAgent(MetricNames.ENTROPY));
    add(out, groups, "value_error", "Value error per agent", "ppo/val/error: squared error of the value head",
        byAgent(MetricNames.VAL_ERROR));
    List<Curve> policy = new ArrayList<>(prefixed("approxkl ", byAgent(MetricNames.POLICY_APPROXKL)));
    policy.addAll(prefixed("clipfrac ", byAgent(MetricNames.POLICY_CLIPFRAC)));
    add(out, groups, "policy_update", "Size of the policy update", "ppo/policy/approxkl and "
        + "ppo/policy/clipfrac per agent", policy);
    add(out, groups, "response_length", "Response length per role", "tokens/responses_len_mean",
        byRole(MetricNames.RESPONSES_LEN_MEAN));
    List<Curve> heldOutReward = new ArrayList<>(heldOut("", "reward_mean"));
    heldOutReward.addAll(heldOut("pass@1 ", "pass@1"));
    add(out, groups, "heldout_reward", "Held-out task reward per agent", "eval/<agent>/reward_mean (GSM8K: "
        + "pass@1) on cory.eval's held-out prompts, after the iterations that evaluate", heldOutReward);
    add(out, groups, "heldout_kl", "Held-out KL per agent", "eval/<agent>/kl: sum of log p - log q over a "
        + "held-out response, mean over responses", heldOut("", "kl"));
    List<Curve> diversity = new ArrayList<>(heldOut("distinct-2 ", "distinct-2"));
    diversity.addAll(heldOut("self-BLEU ", "self-bleu"));
    add(out, groups, "heldout_diversity", "Held-out diversity per agent", "eval/<agent>/distinct-2 (higher: more "
        + "varied) and eval/<agent>/self-bleu (higher: more alike)", diversity);
    add(out, groups, "time_split", "Time split per iteration (s)", "time/rollout, time/reward, time/train, "
        + "time/sync, time/eval and time/iteration", List.of(plain("rollout", MetricNames.TIME_ROLLOUT),
            plain("reward", MetricNames.TIME_REWARD), plain("train", MetricNames.TIME_TRAIN),
            plain("sync", MetricNames.TIME_SYNC), plain("eval", MetricNames.TIME_EVAL),
            plain("iteration", MetricNames.TIME_ITERATION)));
    add(out, groups, "throughput", "Generated tokens per second", "ppo.batch-size x the sum over roles of "
        + "tokens/responses_len_mean, over time/iteration", List.of(new Curve("tokens/s", ReportFigures::tokensPerSecond)));
    return out;
  }

  /** Response tokens sampled per second of iteration wall time; NaN when the batch size is unknown. */
  static double tokensPerSecond(RunData run, int row) {
    String batch = run.setting("ppo.batch-size");
    double seconds = run.value(row, MetricNames.TIME_ITERATION);
    if (batch == null || !(seconds > 0)) {
      return Double.NaN;
    }
    double tokens = 0;
    for (Role role : run.roles()) {
      double len = run.ofRole(row, role, MetricNames.RESPONSES_LEN_MEAN);
      tokens += Double.isNaN(len) ? 0 : len;
    }
    return Long.parseLong(batch) * tokens / seconds;
  }

  private static List<Curve> byAgent(String name) {
    List<Curve> out = new ArrayList<>();
    for (AgentId a : AgentId.values()) {
      out.add(new Curve(a.key(), (run, i) -> run.ofAgent(i, a, name)));
    }
    return out;
  }

  private static List<Curve> heldOut(String prefix, String measure) {
    List<Curve> out = new ArrayList<>();
    for (AgentId a : AgentId.values()) {
      out.add(new Curve(prefix + a.key(), (run, i) -> run.value(i, MetricNames.ofEval(a.key(), measure))));
    }
    return out;
  }

  private static List<Curve> byRole(String name) {
    List<Curve> out = new ArrayList<>();
    for (Role r : Role.values()) {
      out.add(new Curve(r.key(), (run, i) -> run.ofRole(i, r, name)));
    }
    return out;
  }

  private static Curve plain(String label, String name) {
    return new Curve(label, (run, i) -> run.value(i, name));
  }

  private static List<Curve> prefixed(String prefix, List<Curve> curves) {
    return curves.stream().map(c -> new Curve(prefix + c.label(), c.value())).toList();
  }

  /** The dataset of a figure: one series per group and curve that has a value anywhere. */
  static YIntervalSeriesCollection dataset(List<RunGroup> groups, List<Curve> curves) {
    YIntervalSeriesCollection data = new YIntervalSeriesCollection();
    for (RunGroup g : groups) {
      for (Curve c : curves) {
        List<double[]> stats = g.stats(c.value());
        if (stats.isEmpty()) {
          continue;
        }
        String key = groups.size() > 1 ? g.label() + " \u00b7 " + c.label() : c.label();
        YIntervalSeries s = new YIntervalSeries(key, false, true);
        for (double[] p : stats) {
          s.add(p[0], p[1], p[1] - p[2], p[1] + p[2]);
        }
        data.addSeries(s);
      }
    }
    return data;
  }

  private static void add(List<Figure> out, List<RunGroup> groups, String file, String title, String caption,
      List<Curve> curves) {
    YIntervalSeriesCollection data = dataset(groups, curves);
    if (data.getSeriesCount() == 0) {
      return;
    }
    JFreeChart chart = ChartFactory.createXYLineChart(title, "iteration", null, data, PlotOrientation.VERTICAL,
        true, false, false);
    XYPlot plot = chart.getXYPlot();
    DeviationRenderer renderer = new DeviationRenderer(true, false);
    renderer.setAlpha(0.18f);
    for (int s = 0; s < data.getSeriesCount(); s++) {
      Color c = PALETTE[s % PALETTE.length];
      renderer.setSeriesPaint(s, c);
      renderer.setSeriesFillPaint(s, c);
      renderer.setSeriesStroke(s, new BasicStroke(1.8f));
    }
    plot.setRenderer(renderer);
    List<Double> exchanges = exchanges(groups);
    for (double x : exchanges) {
      ValueMarker m = new ValueMarker(x, Color.GRAY, new BasicStroke(1f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER,
          10f, new float[] {4f, 4f}, 0f));
      plot.addDomainMarker(m);
    }
    style(chart);
    out.add(new Figure(file + ".png", title, caption + (exchanges.isEmpty() ? ""
        : "; dashed verticals: role exchanges") + ".", chart));
  }

  /** Where roles were exchanged in any run: between iteration k and k + 1, drawn at k + 0.5. */
  static List<Double> exchanges(List<RunGroup> groups) {
    TreeSet<Double> xs = new TreeSet<>();
    for (RunGroup g : groups) {
      for (RunData r : g.runs()) {
        for (int i = 0; i < r.size(); i++) {
          if (r.exchangedAfter(i)) {
            xs.add(r.iteration(i) + 0.5);
          }
        }
      }
    }
    return List.copyOf(xs);
  }

  /**
   * The reward-vs-KL frontier of an experiment: one point per run (its final KL and final task
   * reward), one series per label (a mode).
   *
   * @param points rows of {label, kl, reward}
   */
  public static Figure frontier(List<Object[]> points, String caption) {
    XYSeriesCollection data = new XYSeriesCollection();
    for (Object[] p : points) {
      String label = (String) p[0];
      XYSeries s;
      int index = data.getSeriesIndex(label);
      if (index < 0) {
        s = new XYSeries(label, false, true);
        data.addSeries(s);
      } else {
        s = data.getSeries(index);
      }
      s.add((double) p[1], (double) p[2]);
    }
    JFreeChart chart = ChartFactory.createScatterPlot("Task reward vs KL (one point per run)",
        "final KL to the reference", "final task reward", data, PlotOrientation.VERTICAL, true, false, false);
    XYLineAndShapeRenderer renderer = (XYLineAndShapeRenderer) chart.getXYPlot().getRenderer();
    for (int s = 0; s < data.getSeriesCount(); s++) {
      renderer.setSeriesPaint(s, PALETTE[s % PALETTE.length]);
    }
    style(chart);
    return new Figure("frontier.png", "Task reward vs KL", caption, chart);
  }

  private static void style(JFreeChart chart) {
    chart.setBackgroundPaint(Color.WHITE);
    chart.getTitle().setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
    XYPlot plot = chart.getXYPlot();
    plot.setBackgroundPaint(Color.WHITE);
    plot.setDomainGridlinePaint(new Color(0xdddddd));
    plot.setRangeGridlinePaint(new Color(0xdddddd));
    plot.setOutlineVisible(false);
    ((NumberAxis) plot.getRangeAxis()).setAutoRangeIncludesZero(false);
    if (plot.getDomainAxis() instanceof NumberAxis x && "iteration".equals(x.getLabel())) {
      x.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
    }
  }
}
