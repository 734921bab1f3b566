package ai.cory.driver.report;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.ToDoubleBiFunction;

/**
 * Runs of one setup: equal settings but for the seed and the run's location
 * ({@link RunData#NOT_SETUP}). A report draws a group as one curve, the mean over its runs with a
 * band of plus and minus one standard deviation (sample, n - 1) where it holds several.
 *
 * @param label what sets the group apart from the others ({@code mode=ppo init-kl-coef=0.1}),
 *              or its first run's name when there is nothing to tell apart
 * @param runs  the runs, in the order given
 */
public record RunGroup(String label, List<RunData> runs) {

  public RunGroup {
    runs = List.copyOf(runs);
  }

  /** Groups {@code runs} by setup, in order of first appearance, and labels each group. */
  public static List<RunGroup> of(List<RunData> runs) {
    Map<Map<String, String>, List<RunData>> bySetup = new LinkedHashMap<>();
    for (RunData r : runs) {
      bySetup.computeIfAbsent(r.setup(), k -> new ArrayList<>()).add(r);
    }
    Map<String, Boolean> differing = differingKeys(bySetup.keySet());
    List<RunGroup> groups = new ArrayList<>();
    for (Map.Entry<Map<String, String>, List<RunData>> e : bySetup.entrySet()) {
      StringBuilder label = new StringBuilder();
      for (String key : differing.keySet()) {
        String v = e.getKey().get(key);
        if (label.length() > 0) {
          label.append(' ');
        }
        label.append(key.substring(key.lastIndexOf('.') + 1)).append('=').append(v == null ? "-" : v);
      }
      List<RunData> members = e.getValue();
      String name = label.length() > 0 ? label.toString() : members.get(0).name();
      groups.add(new RunGroup(name, members));
    }
    return groups;
  }

  /** The keys whose values differ between setups, sorted. */
  private static Map<String, Boolean> differingKeys(Collection<Map<String, String>> setups) {
    Map<String, Boolean> out = new TreeMap<>();
    if (setups.size() < 2) {
      return out;
    }
    Map<String, String> first = setups.iterator().next();
    for (Map<String, String> s : setups) {
      for (String k : union(first, s)) {
        String a = first.get(k);
        String b = s.get(k);
        if (a == null ? b != null : !a.equals(b)) {
          out.put(k, true);
        }
      }
    }
    return out;
  }

  private static List<String> union(Map<String, String> a, Map<String, String> b) {
    List<String> keys = new ArrayList<>(a.keySet());
    for (String k : b.keySet()) {
      if (!a.containsKey(k)) {
        keys.add(k);
      }
    }
    return keys;
  }

  /** The seeds of the group's runs, in order. */
  public List<Long> seeds() {
    return runs.stream().map(RunData::seed).toList();
  }

  /**
   * Mean and standard deviation over the group's runs of {@code value(run, row)}, per iteration
   * (row i of every run that reached it; NaN values are left out).
   *
   * @return rows of {iteration, mean, std, n}, one per iteration any run logged with a value
   */
  public List<double[]> stats(ToDoubleBiFunction<RunData, Integer> value) {
    int longest = runs.stream().mapToInt(RunData::size).max().orElse(0);
    List<double[]> out = new ArrayList<>();
    for (int i = 0; i < longest; i++) {
      double sum = 0;
      int n = 0;
      long iteration = -1;
      List<Double> xs = new ArrayList<>();
      for (RunData r : runs) {
        if (i < r.size()) {
          double v = value.applyAsDouble(r, i);
          iteration = r.iteration(i);
          if (!Double.isNaN(v)) {
            xs.add(v);
            sum += v;
            n++;
          }
        }
      }
      if (n == 0) {
        continue;
      }
      double mean = sum / n;
      double ss = 0;
      for (double x : xs) {
        ss += (x - mean) * (x - mean);
      }
      out.add(new double[] {iteration, mean, n > 1 ? Math.sqrt(ss / (n - 1)) : 0.0, n});
    }
    return out;
  }
}
