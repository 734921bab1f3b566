package ai.cory.common.config;

import ai.cory.common.config.AlgorithmSettings.Mode;
import ai.cory.common.config.OptimizerSettings.EpsilonConvention;
import ai.cory.common.config.TaskSettings.TaskType;
import ai.cory.common.io.FileSourceResolver;
import ai.cory.common.io.Redaction;
import ai.cory.common.model.BaseDtype;
import ai.cory.common.model.LoraSpec;
import ai.cory.common.ppo.KlPenalty;
import ai.cory.common.ppo.PpoConfig;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigSyntax;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueFactory;
import com.typesafe.config.ConfigValueType;
import java.io.ObjectStreamException;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Every setting of a run, read and validated at once from a Typesafe {@link Config} layered
 * over {@code reference.conf} (which documents each key). Construction fails on the first
 * problem with a {@link SettingsException} naming the key's path: a key under {@code cory} that
 * {@code reference.conf} does not declare (a typo must not silently fall back to a default), a
 * required value left null, a value of the wrong type or out of range, or inconsistent values.
 * The free-form exception is {@code cory.reward}, whose keys belong to the chosen reward.
 *
 * <p>The driver builds this once; executors receive it (or its records) and never read files.
 * It serializes as its resolved HOCON text and is re-read and re-validated on arrival, so a
 * deserialized copy equals the original.
 *
 * @param run        {@code cory.run}
 * @param algorithm  {@code cory.algorithm}
 * @param model      {@code cory.model}
 * @param task       {@code cory.task}
 * @param reward     {@code cory.reward}
 * @param generation {@code cory.generation}
 * @param ppo        {@code cory.ppo}
 * @param optimizer  {@code cory.optimizer}
 * @param runtime    {@code cory.workers} and {@code cory.runtime}
 * @param eval       {@code cory.eval}
 * @param resolved   the resolved {@code cory} block as HOCON text (what the run directory keeps)
 */
public record Settings(
    RunSettings run,
    AlgorithmSettings algorithm,
    ModelSettings model,
    TaskSettings task,
    RewardSettings reward,
    GenerationSettings generation,
    PpoConfig ppo,
    OptimizerSettings optimizer,
    RuntimeSettings runtime,
    EvalSettings eval,
    String resolved) implements Serializable {

  private static final long serialVersionUID = 1L;

  /** Root of every CORY key. */
  public static final String ROOT = "cory";
  /** The environment variable a scheduler sets to give each run its own directory and store. */
  public static final String RUN_ID_ENV = "CORY_RUN_ID";
  private static final String RUN_ID = ROOT + ".run.id";
  private static final Pattern RUN_ID_PATTERN = Pattern.compile("[A-Za-z0-9._-]{1,128}");
  /** Blocks whose keys are not declared in reference.conf (they belong to a plug-in). */
  private static final List<String> FREE_FORM = List.of(ROOT + ".reward");

  public Settings {
    Objects.requireNonNull(run, "run");
    Objects.requireNonNull(algorithm, "algorithm");
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(task, "task");
    Objects.requireNonNull(reward, "reward");
    Objects.requireNonNull(generation, "generation");
    Objects.requireNonNull(ppo, "ppo");
    Objects.requireNonNull(optimizer, "optimizer");
    Objects.requireNonNull(runtime, "runtime");
    Objects.requireNonNull(eval, "eval");
    Objects.requireNonNull(resolved, "resolved");
  }

  /**
   * The settings of a config file with command-line overrides on top.
   *
   * @param file      HOCON file (its {@code include}s resolve relative to it)
   * @param overrides {@code path=value} strings in HOCON syntax, later ones win; a path not
   *                  starting with {@code cory.} is taken relative to {@code cory}
   */
  public static Settings load(Path file, List<String> overrides) {
    if (!Files.isRegularFile(file)) {
      throw new SettingsException("--config", "no such config file: " + file.toAbsolutePath());
    }
    Config fromFile;
    try {
      fromFile = ConfigFactory.parseFile(file.toFile(), ConfigParseOptions.defaults().setAllowMissing(false));
    } catch (ConfigException e) {
      throw new SettingsException(file.toString(), "cannot parse: " + e.getMessage(), e);
    }
    return from(overrides(overrides).withFallback(fromFile));
  }

  /** The settings of HOCON text (tests, embedded use), over reference.conf. */
  public static Settings parse(String hocon) {
    Config user;
    try {
      user = ConfigFactory.parseString(hocon, ConfigParseOptions.defaults().setOriginDescription("settings text"));
    } catch (ConfigException e) {
      throw new SettingsException("settings text", "cannot parse: " + e.getMessage(), e);
    }
    return from(user);
  }

  /**
   * Layers {@code user} over reference.conf, resolves substitutions and validates everything.
   */
  public static Settings from(Config user) {
    return from(user, System.getenv());
  }

  /** {@link #from(Config)} with {@code env} as the process environment ({@code CORY_RUN_ID}). */
  static Settings from(Config user, Map<String, String> env) {
    // reference.conf alone: defaultReference() would also merge the JVM's system properties
    Config reference = ConfigFactory.parseResources(Settings.class.getClassLoader(), "reference.conf").resolve();
    Config merged;
    try {
      merged = user.withFallback(reference).resolve();
    } catch (ConfigException e) {
      throw new SettingsException(ROOT, "cannot resolve: " + e.getMessage(), e);
    }
    if (merged.hasPathOrNull(ROOT) && merged.getValue(ROOT).valueType() != ConfigValueType.OBJECT) {
      throw new SettingsException(ROOT, "must be an object");
    }
    rejectUnknownKeys(ROOT, merged.getObject(ROOT), reference.getObject(ROOT));
    Config cory = withRunId(merged.getConfig(ROOT).atKey(ROOT), env.get(RUN_ID_ENV));
    return read(new ConfigValues(cory));
  }

  /**
   * Parses {@code key=value} overrides as HOCON, except that an unquoted URI value
   * ({@code model.path=hdfs://nn:8020/models/x}) is taken as the string it is.
   */
  static Config overrides(List<String> overrides) {
    Config out = ConfigFactory.empty();
    for (String o : overrides) {
      int eq = o.indexOf('=');
      if (eq <= 0) {
        throw new SettingsException(o, "an override must look like path=value");
      }
      String key = o.substring(0, eq).trim();
      String path = key.startsWith(ROOT + ".") ? key : ROOT + "." + key;
      String value = o.substring(eq + 1).trim();
      try {
        Config one = isUriValue(value)
            ? ConfigFactory.empty("override " + o).withValue(path, ConfigValueFactory.fromAnyRef(value, "override " + o))
            : ConfigFactory.parseString(path + " = " + value,
                ConfigParseOptions.defaults().setSyntax(ConfigSyntax.CONF).setOriginDescription("override " + o));
        out = one.withFallback(out);
      } catch (ConfigException e) {
        throw new SettingsException(path, "bad override '" + o + "': " + e.getMessage(), e);
      }
    }
    return out;
  }

  /** A value that starts with a URI scheme and {@code //} (in HOCON {@code //} starts a comment). */
  private static boolean isUriValue(String value) {
    Matcher scheme = FileSourceResolver.SCHEME.matcher(value);
    return scheme.find() && value.startsWith("//", scheme.end());
  }

  /**
   * The resolved {@code cory} block, credentials included: what travels to the executors. Never
   * write it where people read it: {@link #renderRedacted()}.
   */
  public String render() {
    return resolved;
  }

  /**
   * The resolved {@code cory} block with the credentials of every URI replaced by {@code ***}
   * ({@link Redaction}): what the run directory's {@code config.conf} and checkpoints keep.
   */
  public String renderRedacted() {
    return Redaction.redact(resolved);
  }

  /** True when two agents train together (CORY and its ablations). */
  public boolean twoAgents() {
    return algorithm.twoAgents();
  }

  private static void rejectUnknownKeys(String path, ConfigObject actual, ConfigObject reference) {
    if (FREE_FORM.contains(path)) {
      return;
    }
    for (Map.Entry<String, ConfigValue> e : actual.entrySet()) {
      String childPath = path + "." + quoteIfNeeded(e.getKey());
      ConfigValue expected = reference.get(e.getKey());
      ConfigValue value = e.getValue();
      if (expected == null) {
        throw new SettingsException(childPath, "unknown key (set at " + value.origin().description()
            + "); see reference.conf for the keys of " + path);
      }
      boolean expectObject = expected.valueType() == ConfigValueType.OBJECT;
      boolean isObject = value.valueType() == ConfigValueType.OBJECT;
      if (expectObject && !isObject) {
        throw new SettingsException(childPath, "must be an object, got " + value.valueType().name()
            .toLowerCase(Locale.ROOT) + " (set at " + value.origin().description() + ")");
      }
      if (expectObject) {
        rejectUnknownKeys(childPath, (ConfigObject) value, (ConfigObject) expected);
      } else if (isObject && !FREE_FORM.contains(childPath)) {
        throw new SettingsException(childPath, "must be a single value, got an object (set at "
            + value.origin().description() + ")");
      }
    }
  }

  private static String quoteIfNeeded(String key) {
    return key.matches("[A-Za-z0-9_-]+") ? key : "\"" + key + "\"";
  }

  private static Settings read(ConfigValues c) {
    String resolved = c.config().root()
        .render(ConfigRenderOptions.defaults().setOriginComments(false).setJson(false));
    ModelSettings model = readModel(c);
    PpoConfig ppo = readPpo(c);
    return new Settings(readRun(c), readAlgorithm(c), model, readTask(c), readReward(c),
        readGeneration(c), ppo, readOptimizer(c), readRuntime(c, ppo, model), readEval(c, readTask(c)), resolved);
  }

  private static EvalSettings readEval(ConfigValues c, TaskSettings task) {
    EvalSettings eval = new EvalSettings(c.intAtLeast("cory.eval.every", 0), c.intAtLeast("cory.eval.prompts", 1),
        c.nullableString("cory.eval.data"));
    if (eval.every() > 0 && eval.dataFor(task) == null) {
      throw c.bad("cory.eval.data", "set it: the GSM8K task data " + task.data()
          + " is not named train.jsonl, so its test.jsonl cannot be found beside it");
    }
    return eval;
  }

  /**
   * A run id ({@code cory.run.id}, else the environment's {@code CORY_RUN_ID}, e.g. a scheduled
   * run's application name) puts the run in its own {@code <run.dir>/<id>} and
   * {@code <run.store>/<id>}; a config that already has them (a run's own config.conf) is kept.
   */
  private static Config withRunId(Config cory, String fromEnv) {
    boolean fromKey = !cory.getIsNull(RUN_ID);
    String id = fromKey ? cory.getString(RUN_ID) : fromEnv;
    if (id == null || id.isBlank()) {
      return cory;
    }
    id = id.trim();
    if (!RUN_ID_PATTERN.matcher(id).matches()) {
      throw new SettingsException(RUN_ID, "'" + id + "'" + (fromKey ? "" : " (from " + RUN_ID_ENV + ")")
          + " must be 1 to 128 letters, digits, '.', '_' or '-': it names a directory");
    }
    Config out = cory.withValue(RUN_ID, ConfigValueFactory.fromAnyRef(id, fromKey ? RUN_ID : RUN_ID_ENV));
    for (String key : List.of(ROOT + ".run.dir", ROOT + ".run.store")) {
      if (!out.getIsNull(key) && out.getValue(key).valueType() == ConfigValueType.STRING) {
        String base = out.getString(key).replaceAll("/+$", "");
        if (!base.endsWith("/" + id) && !base.equals(id)) {
          out = out.withValue(key, ConfigValueFactory.fromAnyRef(base + "/" + id, RUN_ID + " " + id));
        }
      }
    }
    return out;
  }

  private static RunSettings readRun(ConfigValues c) {
    return new RunSettings(c.longValue("cory.run.seed"), c.intAtLeast("cory.run.iterations", 1),
        c.requiredString("cory.run.dir", "the run directory"), c.bool("cory.run.export-final"),
        c.nullableString("cory.run.store"));
  }

  private static AlgorithmSettings readAlgorithm(ConfigValues c) {
    return new AlgorithmSettings(c.enumValue("cory.algorithm.mode", Mode.class),
        c.bool("cory.algorithm.knowledge-transfer"), c.intAtLeast("cory.algorithm.role-exchange-period", 0),
        c.bool("cory.algorithm.reset-on-exchange"));
  }

  private static ModelSettings readModel(ConfigValues c) {
    String path = c.requiredString("cory.model.path", "the pretrained model directory or URI");
    Precision precision = c.enumValue("cory.model.dtype", Precision.class);
    long valueHeadSeed = c.config().getIsNull("cory.model.value-head-seed")
        ? c.longValue("cory.run.seed") : c.longValue("cory.model.value-head-seed");
    int forward = c.intAtLeast("cory.model.forward-batch-size", 0);
    int rank = c.intAtLeast("cory.model.lora.rank", 0);
    double alpha = c.positive("cory.model.lora.alpha");
    List<String> targets = c.config().getStringList("cory.model.lora.targets");
    for (String t : targets) {
      if (!LoraSpec.LLAMA_MODULES.contains(t) && !LoraSpec.GPT2_MODULES.contains(t)) {
        throw c.bad("cory.model.lora.targets", "'" + t + "' is no projection of GPT-2 " + LoraSpec.GPT2_MODULES
            + " or Llama " + LoraSpec.LLAMA_MODULES);
      }
    }
    BaseDtype base;
    try {
      base = BaseDtype.parse(c.string("cory.model.base-dtype"));
    } catch (IllegalArgumentException e) {
      throw c.bad("cory.model.base-dtype", e.getMessage());
    }
    if (base != BaseDtype.FLOAT32 && rank == 0) {
      throw c.bad("cory.model.base-dtype", base + " stores a frozen base: it needs LoRA (cory.model.lora.rank > 0)");
    }
    return new ModelSettings(path, precision, valueHeadSeed,
        forward == 0 ? c.intAtLeast("cory.ppo.mini-batch-size", 1) : forward,
        new ModelSettings.Lora(rank, alpha, targets, c.nullableString("cory.model.lora.init-from"),
            c.bool("cory.model.lora.export-merged")), base, c.bool("cory.model.recompute-activations"),
        new Compute(c.enumValue("cory.model.device", Compute.Device.class),
            c.enumValue("cory.model.cuda.gemm", Compute.GemmMath.class)));
  }

  private static TaskSettings readTask(ConfigValues c) {
    String p = "cory.task.";
    int min = c.intAtLeast(p + "imdb.min-query-tokens", 1);
    int max = c.intAtLeast(p + "imdb.max-query-tokens", 1);
    if (max < min) {
      throw c.bad(p + "imdb.max-query-tokens", "must be >= " + p + "imdb.min-query-tokens (" + min + "), got " + max);
    }
    String observer = c.nullableString(p + "observer-template");
    String pioneer = c.nullableString(p + "gsm8k.pioneer-template");
    if (pioneer != null && !pioneer.contains("{query}")) {
      throw c.bad(p + "gsm8k.pioneer-template", "must contain {query}");
    }
    TaskType type = c.enumValue(p + "type", TaskType.class);
    String data = c.requiredString(p + "data", "the dataset (JSON Lines) path or URI");
    int maxExamples = c.intAtLeast(p + "max-examples", 0);
    boolean special = c.bool(p + "add-special-tokens");
    int minChars = c.intAtLeast(p + "imdb.min-review-chars", 0);
    String split = c.nullableString(p + "imdb.split");
    String field = c.requiredString(p + "imdb.text-field", "the review's field name");
    try {
      return new TaskSettings(type, data, maxExamples, special, observer, min, max, minChars, split, field, pioneer);
    } catch (IllegalArgumentException e) { // only the templates remain unchecked here
      throw new SettingsException(observer != null ? p + "observer-template" : p + "gsm8k.pioneer-template",
          e.getMessage(), e);
    }
  }

  private static RewardSettings readReward(ConfigValues c) {
    c.requiredString("cory.reward.type", "a built-in reward alias or a RewardFunction class name");
    return RewardSettings.of(c.config().getConfig("cory.reward"));
  }

  private static GenerationSettings readGeneration(ConfigValues c) {
    int min = c.intAtLeast("cory.generation.min-new-tokens", 1);
    int max = c.intAtLeast("cory.generation.max-new-tokens", 1);
    if (max < min) {
      throw c.bad("cory.generation.max-new-tokens", "must be >= cory.generation.min-new-tokens (" + min
          + "), got " + max);
    }
    return new GenerationSettings(min, max, c.bool("cory.generation.greedy"),
        c.positive("cory.generation.temperature"), c.intAtLeast("cory.generation.top-k", 0),
        c.inRange("cory.generation.top-p", 0, true, 1, true), c.positive("cory.generation.repetition-penalty"),
        c.intAtLeast("cory.generation.sampler-threads", 1));
  }

  private static PpoConfig readPpo(ConfigValues c) {
    String p = "cory.ppo.";
    int batch = c.intAtLeast(p + "batch-size", 1);
    int mini = c.intAtLeast(p + "mini-batch-size", 1);
    int accumulation = c.intAtLeast(p + "gradient-accumulation-steps", 1);
    if (!PpoConfig.wholeSteps(batch, mini, accumulation)) {
      throw c.bad(p + "batch-size", "must be a multiple of mini-batch-size * gradient-accumulation-steps ("
          + mini + " * " + accumulation + "), got " + batch);
    }
    boolean scaling = c.bool(p + "score-scaling");
    boolean norm = c.bool(p + "score-norm");
    if (norm && !scaling) {
      throw c.bad(p + "score-norm", "needs " + p + "score-scaling = true (TRL would ignore it silently)");
    }
    KlPenalty klPenalty = c.enumValue(p + "kl-penalty", KlPenalty.class);
    try {
      return new PpoConfig(c.positive(p + "learning-rate"), batch, mini, accumulation,
          c.intAtLeast(p + "ppo-epochs", 1), c.inRange(p + "gamma", 0, true, 1, true),
          c.inRange(p + "lam", 0, true, 1, true), c.positive(p + "cliprange"), c.positive(p + "cliprange-value"),
          c.nonNegative(p + "vf-coef"), c.positive(p + "ratio-threshold"), c.nonNegative(p + "init-kl-coef"),
          c.bool(p + "adaptive-kl"), c.positive(p + "kl-target"), c.positive(p + "kl-horizon"), klPenalty,
          c.bool(p + "whiten-rewards"), scaling, norm, c.positiveOrNull(p + "score-clip"),
          c.nonNegative(p + "score-scaling-eps"), c.positiveOrNull(p + "max-grad-norm"),
          c.bool(p + "early-stopping"), c.positive(p + "target-kl"));
    } catch (SettingsException e) {
      throw e;
    } catch (IllegalArgumentException e) {
      throw new SettingsException("cory.ppo", e.getMessage(), e);
    }
  }

  private static RuntimeSettings readRuntime(ConfigValues c, PpoConfig ppo, ModelSettings model) {
    String p = "cory.runtime.";
    int workers = c.intAtLeast("cory.workers", 1);
    String split = ppo.workersProblem(workers);
    if (split != null) {
      throw c.bad("cory.workers", split);
    }
    if (workers > 1 && model.precision() != Precision.FLOAT32) {
      throw c.bad("cory.workers", "the Aeron allreduce averages float32 gradients: cory.model.dtype = "
          + model.precision().name().toLowerCase(Locale.ROOT) + " needs cory.workers = 1, got " + workers);
    }
    long timeoutMs = positiveDurationMs(c, p + "collective-timeout");
    long recoveryWaitMs = positiveDurationMs(c, p + "recovery-wait");
    return new RuntimeSettings(workers, c.nullableString(p + "master"),
        c.enumValue(p + "transport", RuntimeSettings.Transport.class), c.nullableString(p + "bind-address"),
        c.nullableString(p + "aeron-dir"), timeoutMs, c.intAtLeast(p + "chunk-bytes", RuntimeSettings.MIN_CHUNK_BYTES),
        c.intAtLeast(p + "verify-replicas-every", 0), c.intAtLeast(p + "checkpoint-every", 0),
        c.intAtLeast(p + "checkpoints-kept", 1), c.bool(p + "resume"),
        c.enumValue(p + "sync", RuntimeSettings.Sync.class), c.intAtLeast(p + "parameter-sync-every", 1),
        c.intAtLeast(p + "max-recoveries", 0), recoveryWaitMs, c.bool(p + "authenticate-frames"),
        positiveDurationMs(c, p + "store-lease-timeout"));
  }

  /** A duration setting ({@code 10m}, {@code 90s}) in milliseconds, {@code > 0}. */
  private static long positiveDurationMs(ConfigValues c, String key) {
    long ms;
    try {
      ms = c.config().getDuration(key, TimeUnit.MILLISECONDS);
    } catch (ConfigException e) {
      throw c.bad(key, "must be a duration such as 10m or 90s: " + e.getMessage());
    }
    if (ms <= 0) {
      throw c.bad(key, "must be > 0, got " + ms + " ms");
    }
    return ms;
  }

  private static OptimizerSettings readOptimizer(ConfigValues c) {
    String p = "cory.optimizer.";
    return new OptimizerSettings(c.inRange(p + "beta1", 0, true, 1, false), c.inRange(p + "beta2", 0, true, 1, false),
        c.positive(p + "epsilon"), c.enumValue(p + "epsilon-convention", EpsilonConvention.class));
  }

  /** Serialized form: the resolved HOCON text, re-read (and re-validated) on arrival. */
  private Object writeReplace() throws ObjectStreamException {
    return new Serialized(resolved);
  }

  private record Serialized(String resolved) implements Serializable {
    private static final long serialVersionUID = 1L;

    private Object readResolve() throws ObjectStreamException {
      return Settings.parse(resolved);
    }
  }
}
