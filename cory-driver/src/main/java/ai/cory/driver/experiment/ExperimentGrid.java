package ai.cory.driver.experiment;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/**
 * The runs of an experiment: every combination of mode, KL setting, learning rate and seed, each
 * a set of setting overrides on one base config and a directory name that says which it is.
 *
 * @param modes         the modes ({@link Mode})
 * @param klCoefs       initial KL coefficients ({@code ppo.init-kl-coef}); empty: the config's
 * @param klTargets     adaptive-KL targets ({@code ppo.adaptive-kl = true}, {@code ppo.kl-target});
 *                      empty: the config's
 * @param learningRates learning rates ({@code ppo.learning-rate}); empty: the config's
 * @param seeds         seeds ({@code run.seed}), at least one
 */
public record ExperimentGrid(List<Mode> modes, List<String> klCoefs, List<String> klTargets,
    List<String> learningRates, List<Long> seeds) {

  /** A training mode: CORY, PPO, or one of CORY's ablations (CORY.md section 7). */
  public enum Mode {
    CORY("cory", "algorithm.mode=cory"),
    PPO("ppo", "algorithm.mode=ppo"),
    CORY_NO_TRANSFER("cory-no-transfer", "algorithm.mode=cory", "algorithm.knowledge-transfer=false"),
    CORY_NO_EXCHANGE("cory-no-exchange", "algorithm.mode=cory", "algorithm.role-exchange-period=0"),
    CORY_NO_RESET("cory-no-reset", "algorithm.mode=cory", "algorithm.reset-on-exchange=false");

    private final String key;
    private final List<String> overrides;

    Mode(String key, String... overrides) {
      this.key = key;
      this.overrides = List.of(overrides);
    }

    public String key() {
      return key;
    }

    public List<String> overrides() {
      return overrides;
    }

    /** The mode named {@code key} ({@code cory}, {@code ppo}, {@code cory-no-transfer}, ...). */
    public static Mode of(String key) {
      for (Mode m : values()) {
        if (m.key.equals(key)) {
          return m;
        }
      }
      List<String> keys = new ArrayList<>();
      for (Mode m : values()) {
        keys.add(m.key);
      }
      throw new IllegalArgumentException("unknown mode '" + key + "'; use one of " + String.join(", ", keys));
    }
  }

  /**
   * One run of the grid.
   *
   * @param name      its directory name ({@code cory-kl0.05-s1})
   * @param mode      its mode
   * @param overrides the settings that make it this run (HOCON {@code path=value}, relative to cory)
   */
  public record Run(String name, Mode mode, List<String> overrides) {}

  public ExperimentGrid {
    modes = List.copyOf(modes);
    klCoefs = List.copyOf(klCoefs);
    klTargets = List.copyOf(klTargets);
    learningRates = List.copyOf(learningRates);
    seeds = List.copyOf(seeds);
    if (modes.isEmpty() || seeds.isEmpty()) {
      throw new IllegalArgumentException("an experiment needs at least one mode and one seed");
    }
    for (String v : concat(klCoefs, klTargets, learningRates)) {
      if (!(Double.parseDouble(v) >= 0)) {
        throw new IllegalArgumentException("not a non-negative number: " + v);
      }
    }
  }

  /**
   * Every run, seeds outermost: the grid's first runs cover every setup once, so a grid stopped
   * part-way already compares all of them.
   */
  public List<Run> runs() {
    List<String[]> kls = new ArrayList<>();
    for (String c : klCoefs) {
      kls.add(new String[] {"kl" + c, "ppo.init-kl-coef=" + c});
    }
    for (String t : klTargets) {
      kls.add(new String[] {"target" + t, "ppo.adaptive-kl=true", "ppo.kl-target=" + t});
    }
    if (kls.isEmpty()) {
      kls.add(new String[] {null});
    }
    List<String> lrs = learningRates.isEmpty() ? Collections.singletonList(null) : learningRates;
    List<Run> out = new ArrayList<>();
    for (long seed : seeds) {
      for (Mode mode : modes) {
        for (String[] kl : kls) {
          for (String lr : lrs) {
            List<String> overrides = new ArrayList<>(mode.overrides());
            StringBuilder name = new StringBuilder(mode.key());
            if (kl[0] != null) {
              name.append('-').append(kl[0]);
              overrides.addAll(List.of(kl).subList(1, kl.length));
            }
            if (lr != null) {
              name.append("-lr").append(lr);
              overrides.add("ppo.learning-rate=" + lr);
            }
            name.append(String.format(Locale.ROOT, "-s%d", seed));
            overrides.add("run.seed=" + seed);
            out.add(new Run(name.toString(), mode, overrides));
          }
        }
      }
    }
    return out;
  }

  /** The setup a run name belongs to: the name without its seed ({@code cory-kl0.05}). */
  public static String setupOf(String runName) {
    return runName.replaceFirst("-s-?\\d+$", "");
  }

  @SafeVarargs
  private static List<String> concat(List<String>... lists) {
    List<String> out = new ArrayList<>();
    for (List<String> l : lists) {
      out.addAll(l);
    }
    return out;
  }
}
