package ai.cory.worker.train;

import ai.cory.common.config.ModelSettings;
import ai.cory.common.config.Settings;
import ai.cory.common.config.TaskSettings;
import ai.cory.common.cory.ObserverTemplate;
import ai.cory.common.model.BaseDtype;
import ai.cory.common.model.FrozenBase;
import ai.cory.common.model.KvCache;
import ai.cory.common.model.LoraSpec;
import ai.cory.common.model.ModelConfig;
import ai.cory.common.model.ParamLayout;
import ai.cory.common.model.Workspace;
import ai.cory.common.ppo.KlPenalty;
import ai.cory.worker.comm.ChannelTuning;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The memory one replica (one executor's worker) of a run will hold, by component, computed from
 * the settings and the model's shape with the same sizes the buffers are allocated with
 * ({@link FrozenBase#plannedBytes}, {@link Workspace#plannedBytes}, {@link KvCache#plannedBytes}):
 * the frozen base or reference, the agents' trainable weights, gradients and Adam moments, the
 * KV caches of both agents' generators, the PPO step's workspaces (activations, and the logits
 * blocks apart), the Aeron ring's buffers. Where it runs adds a measured runtime: a local JVM's
 * ({@link #LOCAL_RUNTIME_BYTES}) or an executor's memory outside its heap
 * ({@link #EXECUTOR_NATIVE_BYTES}).
 *
 * <p>Sequence lengths are bounded, not known: the longest pioneer prompt is the IMDB task's
 * {@code max-query-tokens} (+ BOS) or, for GSM8K, {@value #GSM8K_PROMPT_TOKENS} tokens; the
 * observer's is its template's text (one token per {@value #TEMPLATE_CHARS_PER_TOKEN} characters)
 * with every {@code {query}} and {@code {response}} at its bound.
 *
 * @param components  the parts, in print order
 * @param description what was planned, one line
 */
public record MemoryPlan(List<Component> components, String description) {
  /**
   * Resident memory of a local run's one JVM besides its replicas: driver, Spark, the prompt
   * dataset, heap in use, JIT, native libraries (libnd4j, OpenBLAS). Measured: {@code bin/cory
   * train} of stories260K (260K parameters) on one worker peaks at 980 MiB, of which the plan's
   * replica is 45 MiB.
   */
  public static final long LOCAL_RUNTIME_BYTES = 935L << 20;
  /**
   * Resident memory of an executor JVM outside its heap and the replica: native libraries, JIT,
   * thread stacks. Measured: the stories260K run with a 1 GiB heap peaks at 662 MiB with 380 MiB
   * of heap committed and a 45 MiB replica.
   */
  public static final long EXECUTOR_NATIVE_BYTES = 256L << 20;
  /** Planned longest GSM8K prompt (the one-shot prompt with a long question). */
  static final int GSM8K_PROMPT_TOKENS = 512;
  static final int TEMPLATE_CHARS_PER_TOKEN = 3;
  private static final double GIB = 1024.0 * 1024 * 1024;

  /**
   * One component.
   *
   * @param name   what it is
   * @param bytes  its size
   * @param detail how it was sized
   */
  public record Component(String name, long bytes, String detail) {}

  /** Bytes of one replica: every component together. */
  public long replicaBytes() {
    return components.stream().mapToLong(Component::bytes).sum();
  }

  /** What a local run's one JVM holds: {@code replicas} replicas and the local runtime. */
  public long localBytes(int replicas) {
    return replicas * replicaBytes() + LOCAL_RUNTIME_BYTES;
  }

  /** The plan of one replica of {@code settings} on a model of shape {@code cfg}. */
  public static MemoryPlan of(Settings settings, ModelConfig cfg) {
    ModelSettings m = settings.model();
    DataType type = m.precision().dataType();
    long width = type.width();
    int workers = settings.runtime().workers();
    int agents = settings.twoAgents() ? 2 : 1;
    LoraSpec lora = m.lora().spec(cfg.arch());
    long trainable = lora != null ? ParamLayout.adapters(cfg, lora).size() : ParamLayout.of(cfg).size();
    List<Component> parts = new ArrayList<>();
    parts.add(new Component(lora != null ? "frozen base (shared by both agents and the reference)" : "reference model",
        FrozenBase.plannedBytes(cfg, type, lora != null ? m.baseDtype() : BaseDtype.FLOAT32),
        lora != null ? m.baseDtype().key() + " projections, " + m.precision().name().toLowerCase(Locale.ROOT)
            + " embeddings, head and norms" : ParamLayout.of(cfg).size() + " parameters"));
    String what = lora != null ? "adapters (r=" + lora.rank() + ") + value head" : "weights + value head";
    parts.add(new Component("agents' " + what, agents * trainable * width, agents + " x " + trainable + " parameters"));
    parts.add(new Component("gradients", agents * trainable * width, agents + " x " + trainable));
    parts.add(new Component("Adam moments", agents * 2 * trainable * width, agents + " x 2 x " + trainable));

    int localBatch = settings.ppo().batchSize() / workers;
    int maxNew = settings.generation().maxNewTokens();
    int prompt = promptTokens(settings.task());
    int observerPrompt = settings.twoAgents() && settings.algorithm().knowledgeTransfer()
        ? observerPromptTokens(settings.task().observer(), prompt, maxNew) : prompt;
    int seq = Math.min(cfg.maxPositions(), observerPrompt + maxNew);
    int cacheTokens = Math.min(cfg.maxPositions(),
        (seq + AgentGenerator.ROUND_TOKENS - 1) / AgentGenerator.ROUND_TOKENS * AgentGenerator.ROUND_TOKENS);
    parts.add(new Component("KV caches", agents * KvCache.plannedBytes(cfg, type, localBatch, cacheTokens),
        agents + " x " + localBatch + " rows x " + cacheTokens + " tokens"));

    int forward = Math.min(m.forwardBatchSize(), localBatch); // scoring runs over this worker's rows
    int mini = settings.ppo().miniBatchSize();
    int share = mini % workers == 0 ? mini / workers : mini;
    boolean fullKl = settings.ppo().klPenalty() == KlPenalty.FULL;
    boolean recompute = m.recomputeActivations();
    long[] training = Workspace.plannedBytes(cfg, type, share, seq, true, false, recompute);
    long[] policy = Workspace.plannedBytes(cfg, type, forward, seq, false, false, false);
    long[] reference = Workspace.plannedBytes(cfg, type, forward, seq, false, fullKl, false);
    parts.add(new Component("activations", training[0] + policy[0] + reference[0],
        "training " + share + " x " + seq + (recompute ? " (recomputed per block)" : "") + ", scoring 2 x "
            + forward + " x " + seq));
    parts.add(new Component("logits workspace", training[1] + policy[1] + reference[1],
        "(rows, " + cfg.vocabSize() + ") blocks of training and scoring"));
    if (workers > 1) { // the replica's publication to its successor and the image of its predecessor's
      long log = 3L * ChannelTuning.defaults().termLengthBytes();
      parts.add(new Component("Aeron ring buffers", 2 * log, "2 log buffers of 3 x "
          + (ChannelTuning.defaults().termLengthBytes() >> 20) + " MiB terms (shared memory)"));
    }
    String desc = String.format(Locale.ROOT, "%s %d layers x %d wide, %s, %s, %d worker(s), batch %d per worker, "
        + "sequences up to %d tokens", cfg.arch().name().toLowerCase(Locale.ROOT), cfg.layers(), cfg.hidden(),
        lora != null ? "LoRA r=" + lora.rank() + " on a " + m.baseDtype().key() + " base" : "full fine-tuning",
        m.precision().name().toLowerCase(Locale.ROOT), workers, localBatch, seq);
    return new MemoryPlan(List.copyOf(parts), desc);
  }

  /** The template's own text, plus each {@code {query}} and {@code {response}} at its bound. */
  static int observerPromptTokens(ObserverTemplate template, int prompt, int maxNew) {
    String t = template.template();
    int queries = occurrences(t, ObserverTemplate.QUERY);
    int responses = occurrences(t, ObserverTemplate.RESPONSE);
    int text = t.length() - queries * ObserverTemplate.QUERY.length() - responses * ObserverTemplate.RESPONSE.length();
    return (text + TEMPLATE_CHARS_PER_TOKEN - 1) / TEMPLATE_CHARS_PER_TOKEN + queries * prompt + responses * maxNew;
  }

  private static int occurrences(String text, String part) {
    int n = 0;
    for (int at = text.indexOf(part); at >= 0; at = text.indexOf(part, at + part.length())) {
      n++;
    }
    return n;
  }

  private static int promptTokens(TaskSettings task) {
    return switch (task.type()) {
      case IMDB -> task.imdbMaxQueryTokens() + (task.addSpecialTokens() ? 2 : 0);
      case GSM8K -> GSM8K_PROMPT_TOKENS;
    };
  }

  /** The plan as a table, one line per component, then the total. */
  public String render() {
    StringBuilder sb = new StringBuilder("memory plan per replica: ").append(description).append('\n');
    for (Component c : components) {
      sb.append(String.format(Locale.ROOT, "  %-54s %9.3f GiB  %s%n", c.name(), c.bytes() / GIB, c.detail()));
    }
    sb.append(String.format(Locale.ROOT, "  %-54s %9.3f GiB%n", "replica total", replicaBytes() / GIB));
    return sb.toString();
  }

  /** {@code bytes} in GiB, for messages. */
  public static String gib(long bytes) {
    return String.format(Locale.ROOT, "%.2f GiB", bytes / GIB);
  }
}
