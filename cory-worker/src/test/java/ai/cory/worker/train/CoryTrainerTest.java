package ai.cory.worker.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.config.Settings;
import ai.cory.common.cory.AgentId;
import ai.cory.common.cory.IterationPlan;
import ai.cory.common.cory.RoleSchedule;
import ai.cory.common.cuda.EmulatedGpu;
import ai.cory.common.io.LocalFileSource;
import ai.cory.common.metrics.MetricNames;
import ai.cory.common.model.BaseDtype;
import ai.cory.common.model.CausalLm;
import ai.cory.common.model.FrozenBase;
import ai.cory.common.ppo.RunningMoments;
import ai.cory.common.reward.BagOfWordsSentimentReward;
import ai.cory.common.reward.RewardFunction;
import ai.cory.common.task.TaskPrompt;
import ai.cory.common.testing.SharedAssets;
import ai.cory.common.tokenizer.HfTokenizer;
import ai.cory.worker.comm.Collective;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The CORY iteration of {@link CoryTrainer} with real components (stories260K, its tokenizer,
 * the bag-of-words IMDB reward), tiny batches: the observer prompt for both tasks, the
 * collective reward, the role exchange as a pointer swap, the reset switch, the PPO baseline
 * and the two ablations on the same code path.
 */
final class CoryTrainerTest {
  private static CausalLm pretrained;
  private static HfTokenizer tokenizer;
  private static RewardFunction reward;

  @BeforeAll
  static void load() throws IOException {
    LocalFileSource dir = new LocalFileSource(SharedAssets.model("stories260K"));
    pretrained = CausalLm.load(dir, DataType.FLOAT, 0);
    tokenizer = HfTokenizer.load(dir);
    reward = BagOfWordsSentimentReward.load(new LocalFileSource(SharedAssets.path("assets/rewards")),
        "imdb-bow-logreg.tsv");
  }

  @AfterAll
  static void close() {
    if (tokenizer != null) {
      tokenizer.close();
    }
  }

  private static Settings settings(String extra) {
    return Settings.parse("cory.model.path = \"" + SharedAssets.model("stories260K") + "\"\n"
        + "cory.task.data = unused.jsonl\n"
        + "cory.ppo { batch-size = 4, mini-batch-size = 2, ppo-epochs = 1, learning-rate = 1e-3 }\n"
        + "cory.generation { min-new-tokens = 3, max-new-tokens = 4 }\n" + extra);
  }

  private static List<TaskPrompt> queries() {
    String[] texts = {"I loved this film", "The plot was", "What a waste", "This movie"};
    List<TaskPrompt> out = new ArrayList<>();
    for (int i = 0; i < texts.length; i++) {
      out.add(new TaskPrompt(i, texts[i], texts[i], tokenizer.encode(texts[i], true), null));
    }
    return out;
  }

  private static List<IterationReport> run(CoryTrainer trainer, Settings s, int iterations) {
    return run(trainer, s, 0, iterations);
  }

  /** Iterations {@code [from, to)}. */
  private static List<IterationReport> run(CoryTrainer trainer, Settings s, int from, int to) {
    RoleSchedule schedule = new RoleSchedule(s.twoAgents() ? s.algorithm().roleExchangePeriod() : 0);
    List<IterationReport> reports = new ArrayList<>();
    for (int k = from; k < to; k++) {
      reports.add(trainer.runIteration(IterationPlan.of(s.run().seed(), k, schedule, 3, 4), queries(), 0));
    }
    return reports;
  }

  @Test
  void imdbObserverPromptIsTheTemplateOverQueryAndPioneerResponse() {
    try (CoryTrainer trainer = new CoryTrainer(settings(""), pretrained, tokenizer, reward, Collective.single())) {
      List<int[]> prompts = trainer.observerPrompts(queries().subList(0, 1), List.of(" and it was great"));
      String expected = "I can make this sentence \"I loved this film and it was great\" more positive: I loved this film";
      assertArrayEquals(tokenizer.encode(expected, true), prompts.get(0));
    }
  }

  @Test
  void gsm8kObserverPromptInsertsTheReferenceBeforeTheAnswer() {
    Settings s = settings("cory.task.type = gsm8k\ncory.reward.type = gsm8k-exact-match\n");
    String question = "Tom has 3 apples and buys 4 more. How many apples does he have?";
    TaskPrompt q = new TaskPrompt(0, question, "unused", new int[] {1, 2}, "7");
    try (CoryTrainer trainer = new CoryTrainer(s, pretrained, tokenizer, reward, Collective.single())) {
      int[] prompt = trainer.observerPrompts(List.of(q), List.of(" He has 3 + 4 = 7 apples.")).get(0);
      String expected = "Question: Shawn has five toys. For Christmas, he got two toys each from his mom and dad. "
          + "How many toys does he have now?\nAnswer: Shawn started with 5 toys. If he got 2 toys each from his "
          + "mom and dad, then that is 4 more toys. 5 + 4 = 9.\nQuestion: " + question
          + "\nReference:  He has 3 + 4 = 7 apples.\nAnswer:";
      assertArrayEquals(tokenizer.encode(expected, true), prompt);
    }
  }

  @Test
  void withoutKnowledgeTransferTheObserverGetsThePioneersPrompt() {
    Settings s = settings("cory.algorithm.knowledge-transfer = false\n");
    try (CoryTrainer trainer = new CoryTrainer(s, pretrained, tokenizer, reward, Collective.single())) {
      List<TaskPrompt> q = queries();
      List<int[]> prompts = trainer.observerPrompts(q, List.of("a", "b", "c", "d"));
      for (int j = 0; j < q.size(); j++) {
        assertArrayEquals(q.get(j).promptTokens(), prompts.get(j));
      }
      IterationReport r = run(trainer, s, 1).get(0);
      assertEquals(r.samples().get("observer_prompt"), "I loved this film");
    }
  }

  @Test
  void bothAgentsGetTheCollectiveReward() {
    Settings s = settings("");
    try (CoryTrainer trainer = new CoryTrainer(s, pretrained, tokenizer, reward, Collective.single())) {
      IterationReport r = run(trainer, s, 1).get(0);
      double r1 = r.metric("A/pioneer/env/reward_mean");
      double r2 = r.metric("B/observer/env/reward_mean");
      assertEquals(r1 + r2, r.metric("env/reward_collective"), 1e-12);
      assertEquals(r1 + r2, r.metric("A/pioneer/env/reward_collective"), 1e-12);
      assertEquals(r1 + r2, r.metric("B/observer/env/reward_collective"), 1e-12);
      // without score scaling the PPO scores are the collective rewards themselves
      assertEquals(r1 + r2, r.metric("A/pioneer/ppo/mean_scores"), 1e-12);
      assertEquals(r1 + r2, r.metric("B/observer/ppo/mean_scores"), 1e-12);
      assertTrue(r.samples().get("observer_prompt").startsWith("I can make this sentence \"I loved this film"),
          r.samples().get("observer_prompt"));
      for (String key : List.of("time/rollout", "time/reward", "time/train", "time/sync")) {
        assertTrue(r.metric(key) >= 0, key);
      }
    }
  }

  @Test
  void roleExchangeSwapsSlotsWithoutMovingWeightsAndResetsWhenAsked() {
    Settings s = settings("cory.algorithm.role-exchange-period = 2\ncory.ppo.score-scaling = true\n");
    try (CoryTrainer trainer = new CoryTrainer(s, pretrained, tokenizer, reward, Collective.single())) {
      Agent a = trainer.agent(AgentId.A);
      Agent b = trainer.agent(AgentId.B);
      INDArray aWeights = a.policy().params().flat();
      INDArray bWeights = b.policy().params().flat();
      assertNotSame(aWeights, pretrained.params().flat(), "agents own their weights");
      List<IterationReport> reports = run(trainer, s, 2);
      assertFalse(reports.get(0).exchanged());
      assertTrue(reports.get(1).exchanged());
      assertEquals(AgentId.B, trainer.pioneer());
      assertSame(a, trainer.agent(AgentId.A), "identity does not follow the role");
      assertSame(aWeights, trainer.agent(AgentId.A).policy().params().flat(), "same buffer, nothing copied");
      assertSame(bWeights, trainer.agent(AgentId.B).policy().params().flat());
      assertFalse(aWeights.equalsWithEps(bWeights, 1e-6), "the two agents trained apart");
      // reset-on-exchange (default): fresh Adam, initial KL coefficient, fresh score moments
      for (Agent agent : trainer.agents()) {
        assertEquals(0, agent.optimizer().steps());
        assertEquals(s.ppo().initKlCoef(), agent.kl().coef());
        assertEquals(RunningMoments.initial(), agent.scoreMoments());
        assertEquals(0.0, agent.optimizer().state().sumNumber().doubleValue());
      }
      IterationReport third = run(trainer, s, 2, 3).get(0);
      assertTrue(third.metrics().containsKey("B/pioneer/env/reward_mean"), "B is the pioneer of iteration 2");
      assertTrue(third.metrics().containsKey("A/observer/env/reward_mean"));
    }
    Settings keep = settings("cory.algorithm { role-exchange-period = 2, reset-on-exchange = false }\n"
        + "cory.ppo.score-scaling = true\n");
    try (CoryTrainer trainer = new CoryTrainer(keep, pretrained, tokenizer, reward, Collective.single())) {
      run(trainer, keep, 2);
      assertEquals(AgentId.B, trainer.pioneer());
      for (Agent agent : trainer.agents()) {
        assertEquals(4, agent.optimizer().steps(), "2 iterations x 2 minibatches, state kept");
        assertNotEquals(keep.ppo().initKlCoef(), agent.kl().coef(), "adaptive KL moved and was kept");
        assertEquals(8.0, agent.scoreMoments().count(), 1e-9, "scores of 2 batches of 4");
      }
    }
  }

  @Test
  void withoutRoleExchangeAIsAlwaysThePioneer() {
    Settings s = settings("cory.algorithm.role-exchange-period = 0\n");
    try (CoryTrainer trainer = new CoryTrainer(s, pretrained, tokenizer, reward, Collective.single())) {
      for (IterationReport r : run(trainer, s, 3)) {
        assertEquals(AgentId.A, r.pioneer());
        assertFalse(r.exchanged());
        assertTrue(r.metrics().containsKey("A/pioneer/env/reward_mean"));
      }
      assertEquals(3, trainer.agent(AgentId.A).optimizer().steps() / 2);
    }
  }

  @Test
  void ppoBaselineTrainsOneAgentOnItsOwnReward() {
    Settings s = settings("cory.algorithm.mode = ppo\n");
    try (CoryTrainer trainer = new CoryTrainer(s, pretrained, tokenizer, reward, Collective.single())) {
      assertEquals(1, trainer.agents().size());
      assertThrows(IllegalArgumentException.class, () -> trainer.agent(AgentId.B));
      IterationReport r = run(trainer, s, 1).get(0);
      double r1 = r.metric("A/pioneer/env/reward_mean");
      assertEquals(r1, r.metric("env/reward_collective"), 1e-12, "R = r1 only");
      assertEquals(r1, r.metric("A/pioneer/ppo/mean_scores"), 1e-12);
      assertTrue(r.metrics().keySet().stream().noneMatch(k -> k.startsWith("B/")), "no second agent");
      assertFalse(r.samples().containsKey("observer"));
    }
  }

  @Test
  void sameSeedSameNumbersAndThePioneerStartsFromTheSameWeights() {
    Settings s = settings("");
    List<Double> first;
    try (CoryTrainer trainer = new CoryTrainer(s, pretrained, tokenizer, reward, Collective.single())) {
      assertTrue(trainer.agent(AgentId.A).policy().params().flat().get(
          NDArrayIndex.interval(0, 1000)).equalsWithEps(pretrained.params().flat().get(
          NDArrayIndex.interval(0, 1000)), 0), "theta_0");
      first = numbers(run(trainer, s, 2));
    }
    try (CoryTrainer trainer = new CoryTrainer(s, pretrained, tokenizer, reward, Collective.single())) {
      assertEquals(first, numbers(run(trainer, s, 2)));
    }
  }

  /**
   * The trainer with its models placed on a device (the emulated one, every launch carried out
   * in Java, tokens chosen there): two CORY iterations, full fine-tuning and LoRA over an int8
   * base, give the host's numbers (the same greedy tokens under a repetition penalty, so the same
   * rewards; losses, KL and gradient norms to float32 rounding) and leave the same weights.
   */
  @Test
  void onADeviceTwoIterationsGiveTheHostsNumbers() {
    // greedy with a repetition penalty: the device chooses tokens itself, and a sampled draw
    // scans ids in another order than the CPU's (same distribution, other token per uniform)
    String greedy = "cory.generation { greedy = true, repetition-penalty = 1.3 }\n";
    for (String extra : new String[] {"", "cory.model { lora.rank = 4, base-dtype = int8 }"}) {
      Settings s = settings(greedy + extra);
      boolean lora = !extra.isEmpty();
      CausalLm hostModel = lora ? FrozenBase.pack(pretrained, BaseDtype.INT8)
          : CausalLm.of(pretrained.params().copy());
      CausalLm devModel = lora ? FrozenBase.pack(pretrained, BaseDtype.INT8)
          : CausalLm.of(pretrained.params().copy());
      List<Double> host;
      INDArray hostWeights;
      try (CoryTrainer trainer = new CoryTrainer(s, hostModel, tokenizer, reward, Collective.single())) {
        host = numbers(run(trainer, s, 2));
        hostWeights = trainer.agent(AgentId.A).policy().params().flat().dup();
      }
      try (CoryTrainer trainer = new CoryTrainer(s, devModel, tokenizer, reward, Collective.single(),
          null, EmulatedGpu.open(512L << 20))) {
        assertTrue(trainer.agent(AgentId.A).policy().onDevice() && devModel.onDevice());
        List<Double> dev = numbers(run(trainer, s, 2));
        assertEquals(host.size(), dev.size());
        for (int i = 0; i < host.size(); i++) {
          double h = host.get(i);
          double d = dev.get(i);
          assertTrue(Math.abs(h - d) <= 1e-3 * Math.max(1, Math.abs(h)),
              extra + " metric " + i + ": host " + h + ", device " + d);
        }
        // Adam normalises each update by its gradient's own scale, so where a gradient is near
        // zero float rounding can move that weight by up to lr per step: the mean, not the max
        INDArray diff = trainer.agent(AgentId.A).policy().params().flat().sub(hostWeights);
        double mean = diff.castTo(DataType.DOUBLE).ameanNumber().doubleValue();
        assertTrue(mean <= 1e-5, extra + " weights differ by " + mean + " on average");
        assertTrue(diff.amaxNumber().doubleValue() <= 1e-2, extra + " weights differ by "
            + diff.amaxNumber() + " at most");
      }
    }
  }

  @Test
  void everyMetricAnIterationWritesIsNamedInTheOneTable() {
    Settings s = settings("");
    try (CoryTrainer trainer = new CoryTrainer(s, pretrained, tokenizer, reward, Collective.single())) {
      IterationReport r = run(trainer, s, 1).get(0);
      for (String key : r.metrics().keySet()) {
        String name = key.matches("[AB]/(pioneer|observer)/.*") ? key.split("/", 3)[2] : key;
        assertTrue(MetricNames.ALL.contains(name), key + " is not in MetricNames");
      }
      assertTrue(r.metrics().containsKey(MetricNames.ofAgent("A", "pioneer", MetricNames.RESPONSES_LEN_MEAN)),
          "TRL's spelling: " + r.metrics().keySet());
    }
  }

  private static List<Double> numbers(List<IterationReport> reports) {
    List<Double> out = new ArrayList<>();
    for (IterationReport r : reports) {
      r.metrics().forEach((k, v) -> {
        if (!k.startsWith("time/")) {
          out.add(v);
        }
      });
    }
    return out;
  }

  @Test
  void loraAgentsShareOneFrozenBaseThatIsTheReference() {
    Settings s = settings("cory.model { lora.rank = 4, base-dtype = int8 }");
    CausalLm base = FrozenBase.pack(pretrained, BaseDtype.INT8);
    long baseBefore = FrozenBase.fingerprint(base);
    try (CoryTrainer trainer = new CoryTrainer(s, base, tokenizer, reward, Collective.single())) {
      CausalLm a = trainer.agent(AgentId.A).policy();
      CausalLm b = trainer.agent(AgentId.B).policy();
      // one base object under both agents, and it is the reference: no copy of any base weight
      assertSame(trainer.reference(), a.base());
      assertSame(trainer.reference(), b.base());
      assertSame(base.params().flat(), trainer.reference().params().flat());
      // what each agent owns: adapters and value head only, a few percent of the model
      long agentBytes = a.params().flat().length() * 4;
      long baseBytes = FrozenBase.bytes(base);
      System.out.printf("LoRA r 4 on int8 stories260K: base %d bytes (once), each agent %d bytes%n", baseBytes,
          agentBytes);
      assertTrue(2 * agentBytes < baseBytes, agentBytes + " vs " + baseBytes);
      List<IterationReport> reports = run(trainer, s, 2);
      for (IterationReport r : reports) {
        for (var e : r.metrics().entrySet()) {
          assertTrue(Double.isFinite(e.getValue()), e.getKey());
        }
      }
      assertEquals(0.0, reports.get(0).metrics().get("A/pioneer/objective/kl").doubleValue(), "B = 0 at iteration 0");
      assertEquals(0.0, reports.get(0).metrics().get("B/observer/objective/kl").doubleValue());
      assertEquals(baseBefore, FrozenBase.fingerprint(trainer.reference()), "training never writes the base");
      assertEquals(baseBefore, trainer.baseFingerprint().longValue());
      assertTrue(a.params().flat().sub(b.params().flat()).amaxNumber().doubleValue() > 0, "the agents train apart");
    }
  }
}
