package ai.cory.common.reward;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Builds a {@link RewardFunction} from config. The name is a built-in alias or the fully
 * qualified name of a user class, e.g.
 * <pre>
 * reward { type = "bow-sentiment", path = "hdfs://nn/rewards/imdb-bow-logreg.tsv" }
 * reward { type = "com.example.MyReward", threshold = 0.5 }   # its own keys
 * reward {
 *   type = "weighted-sum"
 *   components = [
 *     { type = "gsm8k-exact-match", weight = 1.0 }
 *     { type = "com.example.FormatBonus", weight = 0.1 }
 *   ]
 * }
 * </pre>
 * A user class must be public, implement {@link RewardFunction} and have a public constructor
 * taking ({@link Config}, {@link RewardContext}) or ({@link Config}); it receives its own config
 * block. It is loaded with the thread's context class loader (Spark's user jars), else this
 * class's loader.
 */
public final class RewardFactory {
  /** Config key of the reward's name. */
  public static final String TYPE_KEY = "type";
  /** Alias of {@link BagOfWordsSentimentReward}. */
  public static final String BOW_SENTIMENT = "bow-sentiment";
  /** Alias of {@link Gsm8kExactMatchReward}. */
  public static final String GSM8K_EXACT_MATCH = "gsm8k-exact-match";
  /** Alias of {@link WeightedSumReward}: key {@code components}, a list of reward blocks. */
  public static final String WEIGHTED_SUM = "weighted-sum";
  /** Key of each component's weight in a weighted sum (default 1). */
  public static final String WEIGHT_KEY = "weight";
  /** Key of the component list of a weighted sum. */
  public static final String COMPONENTS_KEY = "components";

  private static final Map<String, Class<? extends RewardFunction>> BUILT_INS = Map.of(
      BOW_SENTIMENT, BagOfWordsSentimentReward.class,
      GSM8K_EXACT_MATCH, Gsm8kExactMatchReward.class);

  private RewardFactory() {}

  /** The built-in aliases. */
  public static Set<String> builtInNames() {
    Set<String> names = new TreeSet<>(BUILT_INS.keySet());
    names.add(WEIGHTED_SUM);
    return names;
  }

  /** The reward named by {@code config.type}, built from {@code config}. */
  public static RewardFunction create(Config config, RewardContext context) {
    return create(config.getString(TYPE_KEY), config, context);
  }

  /** The reward {@code name} with local files only. */
  public static RewardFunction create(String name, Config config) {
    return create(name, config, RewardContext.local());
  }

  /**
   * The reward {@code name} (alias or class name) built from {@code config}.
   *
   * @throws IllegalArgumentException when the name is unknown, the class is not a reward or has
   *     no suitable constructor, or the constructor fails (its message included)
   */
  public static RewardFunction create(String name, Config config, RewardContext context) {
    if (WEIGHTED_SUM.equals(name)) {
      return weightedSum(config, context);
    }
    Class<? extends RewardFunction> type = BUILT_INS.get(name);
    return instantiate(type != null ? type : loadClass(name), name, config, context);
  }

  private static WeightedSumReward weightedSum(Config config, RewardContext context) {
    List<? extends Config> blocks = config.getConfigList(COMPONENTS_KEY);
    List<WeightedSumReward.Term> terms = new ArrayList<>();
    for (int k = 0; k < blocks.size(); k++) {
      Config block = blocks.get(k);
      double weight = block.hasPath(WEIGHT_KEY) ? block.getDouble(WEIGHT_KEY) : 1.0;
      try {
        terms.add(new WeightedSumReward.Term(create(block, context), weight));
      } catch (ConfigException | IllegalArgumentException e) {
        throw new IllegalArgumentException(
            WEIGHTED_SUM + " component " + k + ": " + e.getMessage(), e);
      }
    }
    return new WeightedSumReward(terms);
  }

  private static Class<? extends RewardFunction> loadClass(String name) {
    Class<?> raw;
    try {
      ClassLoader loader = Thread.currentThread().getContextClassLoader();
      // not initialised: no static code of a class runs before it is known to be a reward
      raw = Class.forName(name, false, loader != null ? loader : RewardFactory.class.getClassLoader());
    } catch (ClassNotFoundException | LinkageError e) {
      throw new IllegalArgumentException("unknown reward '" + name + "': not a built-in "
          + builtInNames() + " and no class of that name on the classpath", e);
    }
    if (!RewardFunction.class.isAssignableFrom(raw)) {
      throw new IllegalArgumentException("reward class " + name + " does not implement "
          + RewardFunction.class.getName());
    }
    if (!Modifier.isPublic(raw.getModifiers()) || Modifier.isAbstract(raw.getModifiers())) {
      throw new IllegalArgumentException("reward class " + name + " must be public and concrete");
    }
    return raw.asSubclass(RewardFunction.class);
  }

  private static RewardFunction instantiate(
      Class<? extends RewardFunction> type, String name, Config config, RewardContext context) {
    Object[] args;
    Constructor<? extends RewardFunction> constructor;
    try {
      constructor = type.getConstructor(Config.class, RewardContext.class);
      args = new Object[] {config, context};
    } catch (NoSuchMethodException e) {
      try {
        constructor = type.getConstructor(Config.class);
        args = new Object[] {config};
      } catch (NoSuchMethodException e2) {
        throw new IllegalArgumentException("reward class " + type.getName()
            + " needs a public constructor (" + Config.class.getName() + ") or ("
            + Config.class.getName() + ", " + RewardContext.class.getName() + ")", e2);
      }
    }
    try {
      return constructor.newInstance(args);
    } catch (InvocationTargetException e) {
      Throwable cause = e.getCause();
      throw new IllegalArgumentException(
          "cannot create reward '" + name + "': " + cause.getMessage(), cause);
    } catch (ReflectiveOperationException e) {
      throw new IllegalArgumentException("cannot create reward '" + name + "': " + e, e);
    }
  }
}
