package ai.cory.worker.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.config.OptimizerSettings;
import ai.cory.common.cory.AgentId;
import ai.cory.common.io.LocalFileSource;
import ai.cory.common.model.CausalLm;
import ai.cory.common.ppo.KlController;
import ai.cory.common.ppo.KlPenalty;
import ai.cory.common.ppo.PpoConfig;
import ai.cory.common.testing.SharedAssets;
import ai.cory.worker.comm.Collective;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * {@link PpoStep} beyond the golden single step: two data-parallel workers (threads joined by
 * an in-memory {@link Collective}) give the same update as one worker with the whole batch;
 * gradient-norm clipping; the ratio-threshold skip; input checks. tiny-gpt2 in float64 on the
 * golden file's 4 (query, response) pairs.
 */
final class PpoStepTest {
  private static CausalLm base;
  private static CausalLm perturbed;
  private static final int[][] QUERIES = {{40, 6151}, {1212, 2646, 373}, {464, 7110, 286, 428, 3807},
      {2061, 257, 7030, 286, 616, 640}};
  private static final int[][] RESPONSES = {{340, 523, 881, 0}, {5543, 35483, 290, 835, 1165, 890, 13},
      {318, 7888, 290, 14397, 13}, {290, 1637, 11, 12698, 13, 24390, 340, 13}};
  private static final double[] SCORES = {1.0, -0.5, 0.25, 2.0};

  @BeforeAll
  static void load() throws IOException {
    base = CausalLm.load(new LocalFileSource(SharedAssets.model("tiny-gpt2")), DataType.DOUBLE, 3);
    perturbed = CausalLm.load(new LocalFileSource(SharedAssets.path("assets/models/tiny-gpt2-ref")),
        DataType.DOUBLE, 3);
  }

  private static PpoConfig config() {
    // one minibatch per epoch (shuffling cannot matter), two epochs, full KL, score scaling
    return PpoConfig.trlDefaults().toBuilder().batchSize(4).miniBatchSize(4).ppoEpochs(2).learningRate(1e-3)
        .klPenalty(KlPenalty.FULL).useScoreScaling(true).useScoreNorm(true).initKlCoef(0.2).build();
  }

  private static Agent agent(PpoConfig config) {
    CausalLm policy = CausalLm.of(base.params().copy());
    return new Agent(AgentId.A, policy, new AdamOptimizer(policy.params().layout().size(), DataType.DOUBLE,
        config.learningRate(), OptimizerSettings.defaults()), KlController.from(config));
  }

  private static PpoBatch batch(int from, int to) {
    List<int[]> q = new ArrayList<>();
    List<int[]> r = new ArrayList<>();
    for (int j = from; j < to; j++) {
      q.add(QUERIES[j]);
      r.add(RESPONSES[j]);
    }
    return new PpoBatch(q, r, 50256);
  }

  private static double[] scores(int from, int to) {
    return java.util.Arrays.copyOfRange(SCORES, from, to);
  }

  /** W workers in threads: sums in rank order, identical on every rank. */
  private static final class ThreadCollectives {
    private final int world;
    private final CyclicBarrier barrier;
    private final double[][] sums;
    private final INDArray[] flats;

    ThreadCollectives(int world) {
      this.world = world;
      this.barrier = new CyclicBarrier(world);
      this.sums = new double[world][];
      this.flats = new INDArray[world];
    }

    Collective rank(int r) {
      return new Collective() {
        @Override
        public int worldSize() {
          return world;
        }

        @Override
        public int rank() {
          return r;
        }

        @Override
        public double[] allGather(double[] values) {
          sums[r] = values.clone();
          await();
          double[] out = new double[values.length * world];
          for (int w = 0; w < world; w++) {
            System.arraycopy(sums[w], 0, out, w * values.length, values.length);
          }
          await();
          return out;
        }

        @Override
        public double[] sum(double[] values) {
          sums[r] = values.clone();
          await();
          double[] out = new double[values.length];
          for (double[] s : sums) {
            for (int i = 0; i < out.length; i++) {
              out[i] += s[i];
            }
          }
          await(); // nobody overwrites its slot before every rank has read it
          return out;
        }

        @Override
        public void averageInPlace(INDArray flat) {
          flats[r] = flat;
          await();
          INDArray mean = flats[0].dup();
          for (int w = 1; w < world; w++) {
            mean.addi(flats[w]);
          }
          mean.divi(world);
          await();
          flat.assign(mean);
        }
      };
    }

    private void await() {
      try {
        barrier.await(60, TimeUnit.SECONDS);
      } catch (InterruptedException | BrokenBarrierException | TimeoutException e) {
        throw new IllegalStateException("collective broken", e);
      }
    }
  }

  @Test
  void twoWorkersMakeTheSameUpdateAsOneWorkerWithTheWholeBatch() throws Exception {
    assertSameUpdateOnTwoWorkers(config());
  }

  /**
   * Minibatches smaller than the batch: the two workers draw the same global minibatches as one
   * worker (rows of both shards mixed), so the update is the same, with and without gradient
   * accumulation. Each worker shuffling its own shard would pair rows differently and fail this.
   */
  @Test
  void twoWorkersMakeTheSameUpdateWhenMinibatchesAreSmallerThanTheBatch() throws Exception {
    assertSameUpdateOnTwoWorkers(config().toBuilder().miniBatchSize(2).ppoEpochs(3).build());
    assertSameUpdateOnTwoWorkers(config().toBuilder().miniBatchSize(2).gradientAccumulationSteps(2).build());
  }

  /**
   * Minibatches of one row cannot be split over two workers: each takes whole minibatches of
   * every accumulated optimizer step instead, and the update, statistics and early stopping are
   * still one worker's.
   */
  @Test
  void twoWorkersTakeWholeMinibatchesWhenAMinibatchCannotBeSplit() throws Exception {
    PpoConfig whole = config().toBuilder().miniBatchSize(1).gradientAccumulationSteps(2).build();
    assertSameUpdateOnTwoWorkers(whole);
    PpoConfig stopping = whole.toBuilder().ppoEpochs(4).earlyStopping(true).targetKl(1e-6).build();
    PpoStepReport alone = new PpoStep(perturbed, stopping, 4, Collective.single())
        .step(agent(stopping), batch(0, 4), SCORES, 11);
    assertTrue(alone.earlyStopped() && alone.optimizerSteps() < 8, "the case stops early: " + alone.optimizerSteps());
    assertSameUpdateOnTwoWorkers(stopping);
  }

  private static void assertSameUpdateOnTwoWorkers(PpoConfig config) throws Exception {
    Agent single = agent(config);
    PpoStepReport whole = new PpoStep(perturbed, config, 4, Collective.single())
        .step(single, batch(0, 4), SCORES, 11);

    Agent[] agents = {agent(config), agent(config)};
    PpoStepReport[] reports = stepOnTwoWorkers(config, Averaging.GRADIENTS, agents, new int[][] {{0, 2}, {2, 4}});
    PpoStepReport rank0 = reports[0];
    assertEquals(rank0.metrics(), reports[1].metrics(), "every worker reports the whole batch's statistics");
    assertEquals(whole.optimizerSteps(), rank0.optimizerSteps());
    assertEquals(whole.earlyStopped(), rank0.earlyStopped());
    assertEquals(whole.skippedMinibatches(), rank0.skippedMinibatches());
    assertTrue(agents[0].policy().params().flat().equalsWithEps(agents[1].policy().params().flat(), 0),
        "replicas stay bit-identical");
    double maxDiff = agents[0].policy().params().flat().sub(single.policy().params().flat())
        .amax().getDouble(0);
    assertTrue(maxDiff < 1e-10, "2 workers vs 1: max |delta param| = " + maxDiff);
    for (String k : List.of("objective/kl", "ppo/loss/total", "ppo/policy/approxkl", "ppo/val/error",
        "ppo/mean_scores", "ppo/std_scores", "tokens/responses_len_mean", "ppo/grad_norm")) {
      assertEquals(whole.metric(k), rank0.metric(k), 1e-9 * Math.max(1, Math.abs(whole.metric(k))), k);
    }
    assertEquals(single.kl().coef(), agents[0].kl().coef(), 1e-15, "KL controller sees the whole batch");
    assertEquals(single.scoreMoments().mean(), agents[1].scoreMoments().mean(), 1e-12,
        "running score moments over the whole batch");
  }

  /** Runs one PPO step on two workers in threads, rank r on rows {@code shards[r]}. */
  private static PpoStepReport[] stepOnTwoWorkers(PpoConfig config, Averaging averaging, Agent[] agents,
      int[][] shards) throws Exception {
    ThreadCollectives collectives = new ThreadCollectives(2);
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      List<Future<PpoStepReport>> reports = new ArrayList<>();
      for (int rank = 0; rank < 2; rank++) {
        int r = rank;
        CausalLm reference = CausalLm.of(perturbed.params().copy());
        reports.add(pool.submit(() -> new PpoStep(reference, config, 2, collectives.rank(r), averaging)
            .step(agents[r], batch(shards[r][0], shards[r][1]), scores(shards[r][0], shards[r][1]), 11)));
      }
      return new PpoStepReport[] {reports.get(0).get(120, TimeUnit.SECONDS), reports.get(1).get(120, TimeUnit.SECONDS)};
    } finally {
      pool.shutdownNow();
    }
  }

  /** Both workers holding the same rows compute the same gradient: averaging it or the parameters is one thing. */
  @Test
  void parameterAveragingOfIdenticalShardsIsGradientAveraging() throws Exception {
    PpoConfig config = config().toBuilder().ppoEpochs(3).build();
    int[][] same = {{0, 2}, {0, 2}};
    Agent[] gradients = {agent(config), agent(config)};
    stepOnTwoWorkers(config, Averaging.GRADIENTS, gradients, same);
    for (int every : new int[] {1, 2, 100}) {
      Agent[] parameters = {agent(config), agent(config)};
      PpoStepReport[] reports = stepOnTwoWorkers(config, Averaging.parametersEvery(every), parameters, same);
      assertEquals(reports[0].metrics(), reports[1].metrics());
      // equal up to rounding, not to the bit: the two modes apply the same operations in another
      // order (average, then step; or step, then average), and how the vector kernels round
      // depends on the CPU (largest difference 3e-14 on an AVX2 host, 0 on the AVX-512 one this
      // test was written on); a wrong averaging would be off by orders of magnitude more
      for (int r = 0; r < 2; r++) {
        assertTrue(gradients[0].policy().params().flat().equalsWithEps(parameters[r].policy().params().flat(), 1e-12),
            "every " + every + ", rank " + r);
        assertTrue(gradients[0].optimizer().state().equalsWithEps(parameters[r].optimizer().state(), 1e-12));
      }
    }
  }

  /**
   * One PPO epoch of one minibatch with a fresh Adam and parameter averaging after every step:
   * each worker steps on its own gradient g_r (first Adam step: theta - lr g_r / (|g_r| + eps)),
   * then parameters and moments are averaged, so theta' = theta - lr mean_r(g_r / (|g_r| + eps)),
   * m = (1 - beta1) mean_r g_r and v = (1 - beta2) mean_r g_r^2; gradient averaging would give
   * theta - lr g / (|g| + eps) with g = mean_r g_r instead.
   */
  @Test
  void parameterAveragingStepsAdamOnEachWorkersGradientThenAveragesParametersAndMoments() throws Exception {
    PpoConfig config = config().toBuilder().ppoEpochs(1).build();
    int[][] shards = {{0, 2}, {2, 4}};
    // each worker's own gradient: the whole-minibatch statistics, the worker's rows, scale W
    INDArray[] g = new INDArray[2];
    ThreadCollectives collectives = new ThreadCollectives(2);
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      List<Future<INDArray>> grads = new ArrayList<>();
      for (int rank = 0; rank < 2; rank++) {
        int r = rank;
        grads.add(pool.submit(() -> {
          Agent a = agent(config);
          PpoStep step = new PpoStep(CausalLm.of(perturbed.params().copy()), config, 2, collectives.rank(r));
          PreparedBatch prepared = step.prepare(a, batch(shards[r][0], shards[r][1]), scores(shards[r][0], shards[r][1]));
          a.policy().zeroGrad();
          step.accumulateGradients(a, prepared, new int[] {0, 1}, 2.0);
          return a.policy().grads().flat().dup();
        }));
      }
      g[0] = grads.get(0).get(120, TimeUnit.SECONDS);
      g[1] = grads.get(1).get(120, TimeUnit.SECONDS);
    } finally {
      pool.shutdownNow();
    }
    double lr = config.learningRate();
    double eps = OptimizerSettings.defaults().epsilon();
    INDArray theta = base.params().flat();
    INDArray expected = theta.sub(adamFirstStep(g[0], eps).add(adamFirstStep(g[1], eps)).muli(lr / 2));
    INDArray meanG = g[0].add(g[1]).divi(2);
    INDArray gradientAveraged = theta.sub(adamFirstStep(meanG, eps).muli(lr));

    Agent[] agents = {agent(config), agent(config)};
    PpoStepReport[] reports = stepOnTwoWorkers(config, Averaging.parametersEvery(1), agents, shards);
    assertEquals(reports[0].metrics(), reports[1].metrics(), "every worker reports the same statistics");
    assertTrue(agents[0].policy().params().flat().equalsWithEps(agents[1].policy().params().flat(), 0),
        "replicas identical after the averaging");
    assertTrue(agents[0].optimizer().state().equalsWithEps(agents[1].optimizer().state(), 0));
    double diff = agents[0].policy().params().flat().sub(expected).amax().getDouble(0);
    assertTrue(diff < 1e-12, "parameters vs lr mean_r(g_r / (|g_r| + eps)): " + diff);
    double modeGap = gradientAveraged.sub(expected).amax().getDouble(0);
    assertTrue(modeGap > 1e-5, "the two modes must differ on different shards: " + modeGap);
    long p = theta.length();
    INDArray m = agents[0].optimizer().state().get(org.nd4j.linalg.indexing.NDArrayIndex.point(0),
        org.nd4j.linalg.indexing.NDArrayIndex.interval(0, p));
    INDArray v = agents[0].optimizer().state().get(org.nd4j.linalg.indexing.NDArrayIndex.point(0),
        org.nd4j.linalg.indexing.NDArrayIndex.interval(p, 2 * p));
    assertTrue(m.sub(meanG.mul(0.1)).amax().getDouble(0) < 1e-15, "m = (1 - beta1) mean g");
    INDArray meanG2 = g[0].mul(g[0]).addi(g[1].mul(g[1])).divi(2);
    assertTrue(v.sub(meanG2.mul(0.001)).amax().getDouble(0) < 1e-15, "v = (1 - beta2) mean g^2");
    assertEquals((reports[0].metric("ppo/grad_norm")), (g[0].norm2Number().doubleValue()
        + g[1].norm2Number().doubleValue()) / 2, 1e-12, "grad_norm: the workers' mean");
  }

  /** PyTorch Adam's first update direction m_hat / (sqrt(v_hat) + eps) = g / (|g| + eps). */
  private static INDArray adamFirstStep(INDArray g, double eps) {
    return g.div(org.nd4j.linalg.ops.transforms.Transforms.abs(g, true).addi(eps));
  }

  @Test
  void gradientNormIsClippedBeforeTheAdamStep() {
    PpoConfig config = config().toBuilder().ppoEpochs(1).klPenalty(KlPenalty.KL)
        .maxGradNorm(OptionalDouble.of(0.01)).build();
    Agent agent = agent(config);
    PpoStepReport report = new PpoStep(perturbed, config, 4, Collective.single())
        .step(agent, batch(0, 4), SCORES, 1);
    assertTrue(report.metric("ppo/grad_norm") > 0.01, "the gradient is larger than the clip");
    // after one Adam step m = (1 - beta1) g: its norm is (1 - beta1) * the clipped norm
    long p = agent.policy().params().layout().size();
    double mNorm = agent.optimizer().state().get(org.nd4j.linalg.indexing.NDArrayIndex.point(0),
        org.nd4j.linalg.indexing.NDArrayIndex.interval(0, p)).norm2Number().doubleValue();
    assertEquals(0.1 * 0.01, mNorm, 1e-9);
  }

  @Test
  void minibatchesOverTheRatioThresholdContributeNoGradient() {
    // every mean ratio is >= ~1 > 0.5: TRL zeroes the loss, but still steps the optimizer
    PpoConfig config = config().toBuilder().klPenalty(KlPenalty.KL).ratioThreshold(0.5).build();
    Agent agent = agent(config);
    INDArray before = agent.policy().params().flat().dup();
    PpoStepReport report = new PpoStep(perturbed, config, 4, Collective.single())
        .step(agent, batch(0, 4), SCORES, 1);
    assertEquals(2, report.skippedMinibatches());
    assertEquals(2, report.optimizerSteps());
    assertEquals(0.0, report.metric("ppo/loss/total"));
    assertTrue(before.equalsWithEps(agent.policy().params().flat(), 0), "a zero gradient moves nothing");
  }

  @Test
  void rejectsAWrongBatchSizeAndNonFiniteScores() {
    PpoConfig config = config();
    PpoStep step = new PpoStep(perturbed, config, 4, Collective.single());
    Agent agent = agent(config);
    IllegalArgumentException size = assertThrows(IllegalArgumentException.class,
        () -> step.step(agent, batch(0, 2), scores(0, 2), 1));
    assertTrue(size.getMessage().contains("cory.ppo.batch-size 4"), size.getMessage());
    double[] bad = SCORES.clone();
    bad[2] = Double.NaN;
    IllegalArgumentException nan = assertThrows(IllegalArgumentException.class,
        () -> step.step(agent, batch(0, 4), bad, 1));
    assertTrue(nan.getMessage().contains("row 2"), nan.getMessage());
    assertFalse(agent.optimizer().steps() > 0);
    assertThrows(IllegalArgumentException.class, () -> new PpoBatch(List.of(new int[] {1}), List.of(new int[0]), 0));
    assertThrows(IllegalArgumentException.class,
        () -> new PpoStep(perturbed, config.toBuilder().batchSize(6).miniBatchSize(3).build(), 4,
            new ThreadCollectives(2).rank(0)));
    assertThrows(IllegalArgumentException.class,
        () -> new PpoStep(perturbed, config.toBuilder().batchSize(6).miniBatchSize(1).gradientAccumulationSteps(3)
            .build(), 4, new ThreadCollectives(2).rank(0)));
  }
}
