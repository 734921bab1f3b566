package ai.cory.worker.train;

import ai.cory.common.config.AlgorithmSettings;
import ai.cory.common.config.Settings;
import ai.cory.common.cory.AgentId;
import ai.cory.common.cory.AgentSlots;
import ai.cory.common.cory.CollectiveReward;
import ai.cory.common.cory.IterationPlan;
import ai.cory.common.cory.ObserverTemplate;
import ai.cory.common.cory.Role;
import ai.cory.common.metrics.MetricNames;
import ai.cory.common.model.Accelerator;
import ai.cory.common.model.CausalLm;
import ai.cory.common.model.FrozenBase;
import ai.cory.common.model.LoraSpec;
import ai.cory.common.model.Parameters;
import ai.cory.common.ppo.KlController;
import ai.cory.common.reward.RewardFunction;
import ai.cory.common.reward.RewardInput;
import ai.cory.common.sampling.CounterRng;
import ai.cory.common.task.TaskPrompt;
import ai.cory.common.tokenizer.Tokenizer;
import ai.cory.worker.comm.Collective;
import ai.cory.worker.rollout.Generator;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One worker's side of a CORY run (CORY.md section 2): agents A and B (or one agent for the
 * PPO baseline), the shared frozen reference, rollouts, rewards and the PPO steps. The driver
 * calls {@link #runIteration} once per iteration with the plan and this worker's queries.
 *
 * <p>One iteration k:
 * <ol>
 *   <li>the pioneer samples {@code a1 ~ pi_pioneer(. | q)} for at most L tokens;
 *   <li>the observer prompt is {@code template(q, a1)} (knowledge transfer) or the pioneer's
 *       prompt (the ablation), and the observer samples {@code a2} for at most L tokens;
 *   <li>task rewards {@code r1 = R(q, a1)}, {@code r2 = R(q, a2)} (the reward sees the query and
 *       the agent's own response, never the template);
 *   <li>collective reward {@code R_c = r1 + r2} for both (PPO baseline: {@code r1});
 *   <li>one PPO step for the pioneer on {@code (q, a1, R_c)}, one for the observer on
 *       {@code (s_obs, a2, R_c)}, each KL-penalised against the reference on its own prompt;
 *   <li>if the plan says so, the roles are exchanged by swapping the agent slots (no weights
 *       move), and the agents' Adam state, KL coefficient and score statistics are reset when
 *       {@code algorithm.reset-on-exchange} is set.
 * </ol>
 * Not thread-safe; one per worker.
 */
public final class CoryTrainer implements AutoCloseable {
  /** Salt of agent B's value-head seed (agent A uses stream 0). */
  private static final long VALUE_HEAD_STREAM_B = 1;

  private final Settings settings;
  private final LoraSpec lora;               // null: full fine-tuning
  private final Tokenizer tokenizer;
  private final RewardFunction reward;
  private final CausalLm reference;
  private final AgentSlots<Agent> slots;    // null for the PPO baseline
  private final Agent single;               // the PPO baseline's agent, else null
  private final Map<AgentId, AgentGenerator> generators = new LinkedHashMap<>();
  private final Collective collective;
  private final PpoStep ppo;
  private final ObserverTemplate template;
  private final int[] stopIds;
  private final int padId;
  private Long baseFingerprint;
  private final Accelerator device;          // null: the host

  /**
   * @param settings   the validated run settings
   * @param pretrained theta_0: becomes the frozen reference; each agent starts from a copy of
   *                   its weights with a fresh value head
   * @param tokenizer  the model's tokenizer
   * @param reward     the task reward
   * @param collective this worker's collectives ({@link Collective#single()} for one worker)
   */
  public CoryTrainer(Settings settings, CausalLm pretrained, Tokenizer tokenizer, RewardFunction reward,
      Collective collective) {
    this(settings, pretrained, tokenizer, reward, collective, null);
  }

  /**
   * @param initialAdapters with LoRA, the adapters (and value head) both agents start from, copied;
   *                        null for fresh ones ({@code cory.model.lora.init-from})
   */
  public CoryTrainer(Settings settings, CausalLm pretrained, Tokenizer tokenizer, RewardFunction reward,
      Collective collective, Parameters initialAdapters) {
    this(settings, pretrained, tokenizer, reward, collective, initialAdapters, null);
  }

  /**
   * @param device where the reference and the agents run ({@link CausalLm#placeOn}: the base
   *               uploaded once, each agent's adapters or copy next to it), or null for the host
   */
  public CoryTrainer(Settings settings, CausalLm pretrained, Tokenizer tokenizer, RewardFunction reward,
      Collective collective, Parameters initialAdapters, Accelerator device) {
    this.device = device;
    if (device != null) {
      pretrained.placeOn(device);
    }
    this.settings = Objects.requireNonNull(settings, "settings");
    this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer");
    this.reward = Objects.requireNonNull(reward, "reward");
    this.reference = Objects.requireNonNull(pretrained, "pretrained");
    this.collective = collective;
    this.ppo = new PpoStep(reference, settings.ppo(), settings.model().forwardBatchSize(), this.collective,
        Averaging.of(settings.runtime()), settings.model().recomputeActivations());
    this.template = settings.task().observer();
    this.lora = settings.model().lora().spec(pretrained.config().arch());
    Agent a = newAgent(AgentId.A, settings.model().valueHeadSeed(), initialAdapters);
    if (settings.twoAgents()) {
      Agent b = newAgent(AgentId.B, CounterRng.deriveSeed(settings.model().valueHeadSeed(), VALUE_HEAD_STREAM_B),
          initialAdapters);
      this.slots = new AgentSlots<>(a, b);
      this.single = null;
    } else {
      this.slots = null;
      this.single = a;
    }
    this.stopIds = stopIds(tokenizer, pretrained);
    this.padId = tokenizer.padId() >= 0 ? tokenizer.padId() : 0;
  }

  /**
   * Agent {@code id}: with LoRA its own adapters and value head over the shared base (the
   * reference itself, never copied), else a copy of the reference's weights with a fresh value
   * head.
   */
  private Agent newAgent(AgentId id, long valueHeadSeed, Parameters initialAdapters) {
    CausalLm policy;
    if (lora != null) {
      policy = reference.withAdapters(lora, valueHeadSeed);
      if (initialAdapters != null) {
        policy.params().copyFrom(initialAdapters);
      }
    } else {
      Parameters copy = reference.params().copy();
      copy.initValueHead(valueHeadSeed);
      policy = CausalLm.of(copy);
    }
    if (device != null) {
      policy.placeOn(device); // before its generator makes a KV cache
    }
    Parameters weights = policy.params();
    AdamOptimizer adam = new AdamOptimizer(weights.layout().size(), weights.dataType(),
        settings.ppo().learningRate(), settings.optimizer());
    int localBatch = settings.ppo().batchSize() / collective.worldSize();
    generators.put(id, new AgentGenerator(policy, localBatch, settings.generation().sampling(),
        settings.generation().samplerThreads()));
    return new Agent(id, policy, adam, KlController.from(settings.ppo()));
  }

  /**
   * Ids that end a response: EOS, and BOS when it differs (a model trained on concatenated
   * documents, such as llama2.c's TinyStories models, emits BOS where the next one starts).
   */
  public static int[] stopIds(Tokenizer tokenizer, CausalLm model) {
    int eos = tokenizer.eosId() >= 0 ? tokenizer.eosId() : model.config().eosTokenId();
    int bos = tokenizer.bosId() >= 0 ? tokenizer.bosId() : model.config().bosTokenId();
    if (eos < 0) {
      throw new IllegalArgumentException("the tokenizer and the model config define no EOS token: responses "
          + "could not be cut (CORY.md section 4)");
    }
    return bos >= 0 && bos != eos ? new int[] {eos, bos} : new int[] {eos};
  }

  /** The agent {@code id} (identity, not role). */
  public Agent agent(AgentId id) {
    if (slots != null) {
      return slots.agent(id);
    }
    if (id != AgentId.A) {
      throw new IllegalArgumentException("the PPO baseline has agent A only");
    }
    return single;
  }

  /** The agents, A first. */
  public List<Agent> agents() {
    return slots == null ? List.of(single) : List.of(slots.agent(AgentId.A), slots.agent(AgentId.B));
  }

  /** The agent in the pioneer slot now. */
  public AgentId pioneer() {
    return slots == null ? AgentId.A : slots.pioneerId();
  }

  /** Puts {@code id} in the pioneer slot (resuming at an iteration of the role schedule). */
  public void restorePioneer(AgentId id) {
    if (slots != null) {
      slots.setPioneer(id);
    } else if (id != AgentId.A) {
      throw new IllegalArgumentException("the PPO baseline has agent A only");
    }
  }

  /** The frozen reference model: with LoRA, the base both agents' adapters sit on. */
  public CausalLm reference() {
    return reference;
  }

  /**
   * CRC32C of the frozen base's stored bytes with LoRA (checked once: nothing writes it), or
   * null for full fine-tuning, whose agents' weights are checked every iteration instead.
   */
  public Long baseFingerprint() {
    if (lora == null) {
      return null;
    }
    if (baseFingerprint == null) {
      baseFingerprint = FrozenBase.fingerprint(reference);
    }
    return baseFingerprint;
  }

  /**
   * Runs iteration {@code plan.iteration()} on this worker's queries.
   *
   * @param plan           the iteration's schedule and seeds (identical on every worker)
   * @param queries        this worker's queries: {@code batch-size / W} of them
   * @param firstGlobalRow index of {@code queries.get(0)} in the whole batch (sampling draws
   *                       depend on the global row, so any sharding samples the same tokens)
   */
  public IterationReport runIteration(IterationPlan plan, List<TaskPrompt> queries, long firstGlobalRow) {
    if (plan.pioneer() != pioneer()) {
      throw new IllegalStateException("iteration " + plan.iteration() + " plans " + plan.pioneer()
          + " as pioneer but agent " + pioneer() + " holds the pioneer slot");
    }
    long t0 = System.nanoTime();
    collective.takeElapsedNs();
    Timer timer = new Timer();
    Map<String, String> samples = new LinkedHashMap<>();
    int length = plan.generationLength();

    // 1. pioneer rollouts a1 ~ pi(. | q)
    Agent pioneer = slots == null ? single : slots.pioneer();
    List<int[]> pioneerPrompts = new ArrayList<>(queries.size());
    for (TaskPrompt q : queries) {
      pioneerPrompts.add(q.promptTokens());
    }
    List<int[]> a1 = rollout(pioneer, pioneerPrompts, queries, length, plan.rolloutSeed(Role.PIONEER),
        firstGlobalRow, "pioneer prompt", timer);
    List<String> a1Text = decode(pioneerPrompts, a1);
    samples.put("pioneer", queries.get(0).query() + a1Text.get(0));

    // 2. observer rollouts a2 ~ pi(. | template(q, a1))
    Agent observer = slots == null ? null : slots.observer();
    List<int[]> observerPrompts = null;
    List<int[]> a2 = null;
    List<String> a2Text = null;
    if (observer != null) {
      observerPrompts = observerPrompts(queries, a1Text);
      a2 = rollout(observer, observerPrompts, queries, length, plan.rolloutSeed(Role.OBSERVER), firstGlobalRow,
          "observer prompt", timer);
      a2Text = decode(observerPrompts, a2);
      samples.put("observer_prompt", tokenizer.decode(observerPrompts.get(0), true));
      samples.put("observer", queries.get(0).query() + a2Text.get(0));
    }

    // 3-4. task rewards and the collective reward
    long tr = System.nanoTime();
    double[] r1 = score(queries, a1Text);
    double[] r2 = observer == null ? null : score(queries, a2Text);
    double[] collectiveReward = observer == null ? r1 : CollectiveReward.sum(r1, r2);
    timer.rewardNs += System.nanoTime() - tr;
    // batch means of r1, R_c (and r2) over every worker's rows: one all-reduce
    double[] means = observer == null ? globalMeans(r1, collectiveReward) : globalMeans(r1, collectiveReward, r2);
    double collectiveMean = means[1];

    // 5. one PPO step per agent, each against the reference on its own prompt
    long tt = System.nanoTime();
    Map<String, Double> metrics = new LinkedHashMap<>();
    PpoStepReport pioneerStep = ppo.step(pioneer, new PpoBatch(pioneerPrompts, a1, padId), collectiveReward,
        plan.shuffleSeed(Role.PIONEER));
    putAgentMetrics(metrics, pioneer.id(), Role.PIONEER, means[0], collectiveMean, pioneerStep);
    if (observer != null) {
      PpoStepReport observerStep = ppo.step(observer, new PpoBatch(observerPrompts, a2, padId), collectiveReward,
          plan.shuffleSeed(Role.OBSERVER));
      putAgentMetrics(metrics, observer.id(), Role.OBSERVER, means[2], collectiveMean, observerStep);
    }
    timer.trainNs += System.nanoTime() - tt;

    // 6. role exchange: a pointer swap of the slots
    boolean exchanged = false;
    if (slots != null && plan.exchangeAfter()) {
      slots.exchangeRoles();
      exchanged = true;
      if (settings.algorithm().resetOnExchange()) {
        slots.agent(AgentId.A).resetTrainingState();
        slots.agent(AgentId.B).resetTrainingState();
      }
    }
    metrics.put(MetricNames.REWARD_COLLECTIVE, collectiveMean);
    metrics.put(MetricNames.TIME_ROLLOUT, seconds(timer.rolloutNs));
    metrics.put(MetricNames.TIME_REWARD, seconds(timer.rewardNs));
    metrics.put(MetricNames.TIME_SYNC, seconds(collective.takeElapsedNs()));
    metrics.put(MetricNames.TIME_TRAIN, seconds(timer.trainNs));
    metrics.put(MetricNames.TIME_ITERATION, seconds(System.nanoTime() - t0));
    return new IterationReport(plan.iteration(), plan.pioneer(), length, exchanged, metrics, samples);
  }

  /** Wall-time split of one iteration. */
  private static final class Timer {
    long rolloutNs;
    long rewardNs;
    long trainNs;
  }

  private List<int[]> rollout(Agent agent, List<int[]> prompts, List<TaskPrompt> queries, int maxNewTokens,
      long seed, long firstGlobalRow, String what, Timer timer) {
    int context = agent.policy().config().maxPositions();
    for (int j = 0; j < prompts.size(); j++) {
      if (prompts.get(j).length + maxNewTokens > context) {
        throw new IllegalArgumentException("query " + (firstGlobalRow + j) + " (dataset example "
            + queries.get(j).index() + "): " + what + " of " + prompts.get(j).length + " tokens + " + maxNewTokens
            + " new tokens exceeds the model's context of " + context + " positions");
      }
    }
    long t0 = System.nanoTime();
    Generator.Rollout out = generators.get(agent.id()).generate(prompts, maxNewTokens, seed, firstGlobalRow, stopIds);
    timer.rolloutNs += System.nanoTime() - t0;
    List<int[]> responses = new ArrayList<>(out.responses().length);
    for (int[] r : out.responses()) {
      responses.add(r);
    }
    return responses;
  }

  /**
   * The observer's prompts: {@code template(q, a1)} tokenized (the task query and the text of
   * the pioneer's response), or the pioneer's own prompt without knowledge transfer.
   */
  List<int[]> observerPrompts(List<TaskPrompt> queries, List<String> pioneerResponses) {
    AlgorithmSettings algorithm = settings.algorithm();
    List<int[]> out = new ArrayList<>(queries.size());
    for (int j = 0; j < queries.size(); j++) {
      TaskPrompt q = queries.get(j);
      out.add(algorithm.knowledgeTransfer()
          ? tokenizer.encode(template.render(q.query(), pioneerResponses.get(j)), settings.task().addSpecialTokens())
          : q.promptTokens());
    }
    return out;
  }

  /**
   * Each response's text as it reads after its prompt: {@code decode(prompt ++ response)} minus
   * {@code decode(prompt)}. Decoding the response alone would lose the leading space of a
   * SentencePiece (Llama) response, gluing its first word to the query in the reward's text and
   * the observer's template. Special tokens (BOS, EOS) are left out.
   */
  private List<String> decode(List<int[]> prompts, List<int[]> responses) {
    List<String> out = new ArrayList<>(responses.size());
    for (int j = 0; j < responses.size(); j++) {
      int[] prompt = prompts.get(j);
      int[] response = responses.get(j);
      int[] both = Arrays.copyOf(prompt, prompt.length + response.length);
      System.arraycopy(response, 0, both, prompt.length, response.length);
      String full = tokenizer.decode(both, true);
      String head = tokenizer.decode(prompt, true);
      out.add(full.startsWith(head) ? full.substring(head.length()) : tokenizer.decode(response, true));
    }
    return out;
  }

  /** {@code R(q, a)} for each row: the task query and the agent's own response. */
  private double[] score(List<TaskPrompt> queries, List<String> responses) {
    List<RewardInput> items = new ArrayList<>(queries.size());
    for (int j = 0; j < queries.size(); j++) {
      TaskPrompt q = queries.get(j);
      items.add(new RewardInput(q.query(), responses.get(j), q.groundTruth()));
    }
    double[] scores = reward.score(items);
    if (scores.length != items.size()) {
      throw new IllegalStateException("reward returned " + scores.length + " scores for " + items.size() + " items");
    }
    for (int j = 0; j < scores.length; j++) {
      if (!Double.isFinite(scores[j])) {
        throw new IllegalStateException("reward of query " + queries.get(j).index() + " is " + scores[j]
            + " (response: \"" + responses.get(j) + "\")");
      }
    }
    return scores;
  }

  private static void putAgentMetrics(Map<String, Double> metrics, AgentId agent, Role role, double rewardMean,
      double collectiveMean, PpoStepReport step) {
    metrics.put(MetricNames.ofAgent(agent.key(), role.key(), MetricNames.REWARD_MEAN), rewardMean);
    metrics.put(MetricNames.ofAgent(agent.key(), role.key(), MetricNames.REWARD_COLLECTIVE), collectiveMean);
    // CORY.md section 8: task reward - beta * (mean summed KL), beta as used in this step
    metrics.put(MetricNames.ofAgent(agent.key(), role.key(), MetricNames.COMBINED),
        rewardMean - step.metric(MetricNames.KL_COEF) * step.metric(MetricNames.KL));
    step.metrics().forEach((k, v) -> metrics.put(MetricNames.ofAgent(agent.key(), role.key(), k), v));
  }

  /** The mean over every worker's rows of each of {@code rows} (arrays of this worker's rows), in one all-reduce. */
  private double[] globalMeans(double[]... rows) {
    double[] partial = new double[rows.length + 1];
    for (int i = 0; i < rows.length; i++) {
      for (double v : rows[i]) {
        partial[i] += v;
      }
    }
    partial[rows.length] = rows[0].length;
    double[] total = collective.sum(partial);
    double[] means = new double[rows.length];
    for (int i = 0; i < rows.length; i++) {
      means[i] = total[i] / total[rows.length];
    }
    return means;
  }

  private static double seconds(long ns) {
    return ns / 1e9;
  }

  @Override
  public void close() {
    generators.values().forEach(AgentGenerator::close);
  }
}
