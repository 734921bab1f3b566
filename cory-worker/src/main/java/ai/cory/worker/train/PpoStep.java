package ai.cory.worker.train;

import ai.cory.common.metrics.MetricNames;
import ai.cory.common.model.CausalLm;
import ai.cory.common.model.ForwardOptions;
import ai.cory.common.model.ForwardResult;
import ai.cory.common.model.Workspace;
import ai.cory.common.ppo.Gae;
import ai.cory.common.ppo.KlPenalty;
import ai.cory.common.ppo.LossGradients;
import ai.cory.common.ppo.LossInputs;
import ai.cory.common.ppo.LossStats;
import ai.cory.common.ppo.LossSums;
import ai.cory.common.ppo.MaskedMoments;
import ai.cory.common.ppo.MaskedStats;
import ai.cory.common.ppo.PpoConfig;
import ai.cory.common.ppo.PpoLoss;
import ai.cory.common.ppo.Rewards;
import ai.cory.common.ppo.RolloutSums;
import ai.cory.common.ppo.ScoreTransform;
import ai.cory.common.sampling.CounterRng;
import ai.cory.worker.comm.Collective;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalDouble;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * One PPO step of one agent on a batch of rollouts, with TRL 0.7.9 {@code PPOTrainer.step}
 * semantics (CORY.md section 3), numbered as there:
 * <ol>
 *   <li>score scaling / clipping ({@link ScoreTransform}, running moments over all workers);
 *   <li>forward of the policy and of the frozen reference on {@code prompt ++ response}
 *       (right padding, positions 0..len-1): old log-probs, reference log-probs, values;
 *   <li>per-token KL ({@code kl}, {@code abs}, {@code mse}, or {@code full} over the vocabulary);
 *   <li>rewards {@code -beta kl_t} plus the score on the last response token;
 *   <li>GAE, then advantages whitened over the whole batch;
 *   <li>{@code ppo-epochs} passes over a shuffled batch in minibatches with gradient
 *       accumulation, the clipped loss and its analytic upstream gradients back-propagated by the
 *       engine, gradients averaged over workers, optional global-norm clipping, one Adam step
 *       per {@code mini-batch-size x gradient-accumulation-steps} sequences;
 *   <li>the KL controller update.
 * </ol>
 *
 * <p>Distributed use: this worker holds {@code batch-size / W} rows. Every batch-wide statistic
 * goes through {@link Collective#sum}. The minibatches are cut from one permutation of the whole
 * batch, the same for every W; when they are smaller than the batch, the rows' loss inputs are
 * first all-gathered ({@link TrainingRows#gathered}, a few KB per row) and each worker takes
 * {@code mini-batch-size / W} rows of each minibatch. The upstream gradients are normalised by
 * the whole minibatch's token count and multiplied by W, so {@link Collective#averageInPlace} of
 * the parameter gradients gives exactly the gradient of the whole minibatch's loss: W workers
 * make the update one worker makes, up to float rounding. With {@link Averaging#parameters()}
 * each worker instead steps Adam on its own gradient (an unbiased estimate of the minibatch's:
 * their mean is the minibatch gradient) and the parameters and Adam moments are averaged every
 * {@link Averaging#every()} optimizer steps and at the end of the step.
 *
 * <p>The workspaces are shared by every agent of the same model shape and grow on demand. Not
 * thread-safe.
 */
public final class PpoStep {
  /** {@code torch.nn.utils.clip_grad_norm_}'s guard against a zero norm. */
  private static final double CLIP_EPS = 1e-6;
  /** Salt of the per-epoch shuffle streams. */
  private static final long SHUFFLE_STREAM = 0x5348_5546L;

  private final CausalLm reference;
  private final PpoConfig config;
  private final PpoLoss loss;
  private final ScoreTransform scoreTransform;
  private final int forwardBatchSize;
  private final Collective collective;
  private final Averaging averaging;
  private final boolean recompute;
  private Workspace policyScoring;   // inference, (forward batch, T)
  private Workspace referenceScoring;
  private Workspace training;        // (minibatch share, T), keeps activations

  /**
   * @param reference        the frozen reference model (never written)
   * @param config           PPO hyper-parameters; sizes count the whole batch across workers
   * @param forwardBatchSize rows per scoring forward pass
   * @param collective       sums and gradient averaging across workers ({@link Collective#single()})
   */
  public PpoStep(CausalLm reference, PpoConfig config, int forwardBatchSize, Collective collective) {
    this(reference, config, forwardBatchSize, collective, Averaging.GRADIENTS);
  }

  /**
   * @param averaging what the workers average: gradients before every optimizer step (W workers
   *                  then make the one-worker update), or parameters and Adam moments
   */
  public PpoStep(CausalLm reference, PpoConfig config, int forwardBatchSize, Collective collective,
      Averaging averaging) {
    this(reference, config, forwardBatchSize, collective, averaging, false);
  }

  /**
   * @param recompute the training workspace recomputes each block's activations in backward
   *                  ({@code cory.model.recompute-activations})
   */
  public PpoStep(CausalLm reference, PpoConfig config, int forwardBatchSize, Collective collective,
      Averaging averaging, boolean recompute) {
    this.recompute = recompute;
    this.reference = Objects.requireNonNull(reference, "reference");
    this.config = Objects.requireNonNull(config, "config");
    this.collective = Objects.requireNonNull(collective, "collective");
    this.averaging = Objects.requireNonNull(averaging, "averaging");
    if (forwardBatchSize < 1) {
      throw new IllegalArgumentException("forwardBatchSize must be >= 1, got " + forwardBatchSize);
    }
    String split = config.workersProblem(collective.worldSize());
    if (split != null) {
      throw new IllegalArgumentException("the number of workers " + split);
    }
    this.forwardBatchSize = forwardBatchSize;
    this.loss = PpoLoss.from(config);
    this.scoreTransform = ScoreTransform.from(config);
  }

  /** The hyper-parameters. */
  public PpoConfig config() {
    return config;
  }

  /**
   * The whole step: {@link #prepare} then {@link #train}.
   *
   * @param agent       the agent to update (weights, Adam, KL controller, score moments)
   * @param batch       this worker's rows: its prompts and the agent's responses
   * @param scores      (B) one task score per row
   * @param shuffleSeed seed of the minibatch shuffles (the same on every worker)
   */
  public PpoStepReport step(Agent agent, PpoBatch batch, double[] scores, long shuffleSeed) {
    return train(agent, prepare(agent, batch, scores), shuffleSeed);
  }

  /**
   * Steps 1 to 5: scores, rollout forward passes, KL, rewards, GAE, whitened advantages and the
   * batch statistics. Updates the agent's running score moments when score scaling is on.
   */
  public PreparedBatch prepare(Agent agent, PpoBatch batch, double[] scores) {
    int localBatch = config.batchSize() / collective.worldSize();
    if (batch.rows() != localBatch) {
      throw new IllegalArgumentException("agent " + agent.id() + ": batch has " + batch.rows() + " rows but "
          + "cory.ppo.batch-size " + config.batchSize() + " over " + collective.worldSize() + " workers needs "
          + localBatch);
    }
    if (scores.length != batch.rows()) {
      throw new IllegalArgumentException("agent " + agent.id() + ": " + scores.length + " scores for "
          + batch.rows() + " rows");
    }
    for (int j = 0; j < scores.length; j++) {
      if (!Double.isFinite(scores[j])) {
        throw new IllegalArgumentException("agent " + agent.id() + ": score of row " + j + " is " + scores[j]);
      }
    }
    // 1. score scaling over the whole batch
    MaskedMoments scoreMoments = config.useScoreScaling()
        ? MaskedMoments.allReduced(scores, collective::sum) : null;
    ScoreTransform.Result transformed = scoreTransform.apply(scores, agent.scoreMoments(), scoreMoments);
    agent.setScoreMoments(transformed.moments());
    // 2-3. old log-probs, reference log-probs, values, per-token KL
    Scored scored = score(agent.policy(), batch);
    double[][] mask = batch.mask();
    // 4. rewards
    double klCoef = agent.kl().coef();
    Rewards.PerToken rewards = Rewards.compute(transformed.scores(), scored.kl, mask, klCoef);
    // 5. GAE and whitening over the whole batch
    Gae.Result gae = config.whitenRewards()
        ? Gae.computeWithWhitenedRewards(scored.values, rewards.rewards(), mask, config.gamma(), config.lam(),
            MaskedMoments.allReduced(rewards.rewards(), mask, collective::sum))
        : Gae.compute(scored.values, rewards.rewards(), mask, config.gamma(), config.lam());
    double[][] advantages = MaskedStats.whiten(gae.advantages(),
        MaskedMoments.allReduced(gae.advantages(), mask, collective::sum), true);
    RolloutSums sums = RolloutSums.fromArray(collective.sum(RolloutSums.of(scored.kl, scored.logProbs,
        rewards.nonScoreReward(), rewards.rewards(), mask, transformed.scores()).toArray()));
    return new PreparedBatch(batch, scores.clone(), transformed.scores(), scored.logProbs, scored.refLogProbs,
        scored.values, scored.kl, rewards, gae, advantages, sums, klCoef);
  }

  /**
   * Steps 6 and 7: the PPO epochs with Adam steps, then the KL-controller update.
   *
   * @param shuffleSeed seed of the minibatch shuffles; epoch e uses the stream (seed, e)
   */
  public PpoStepReport train(Agent agent, PreparedBatch prepared, long shuffleSeed) {
    int world = collective.worldSize();
    int rank = collective.rank();
    int mini = config.miniBatchSize();
    int accumulation = config.gradientAccumulationSteps();
    // Minibatches are cut from one permutation of the whole batch, so they are the same sets of
    // global rows for any W. Each optimizer step's minibatches are shared out in one of two ways:
    //  split: each minibatch is cut into W equal shares (W divides mini-batch-size), its loss
    //         statistics summed over the workers;
    //  whole: each worker takes accumulation / W whole minibatches of every optimizer step (W
    //         divides gradient-accumulation-steps only), their statistics summed at the end.
    // When a minibatch is the whole batch (or W = 1) a worker's share is its own rows and nothing
    // needs to travel; otherwise the rows' loss inputs are all-gathered first.
    boolean split = mini % world == 0;
    int share = split ? mini / world : mini;     // rows of one minibatch this worker processes
    boolean gather = world > 1 && mini < config.batchSize();
    TrainingRows rows = gather ? TrainingRows.gathered(prepared, collective) : TrainingRows.local(prepared);
    int stride = gather ? mini : share;          // permutation positions per minibatch
    int perStep = split ? accumulation : accumulation / world;   // minibatches per optimizer step here
    double gradientScale = (double) world / accumulation;
    CausalLm policy = agent.policy();
    StatsMean lossMeans = new StatsMean();
    int optimizerSteps = 0;
    int unsynced = 0;   // local optimizer steps since the parameters were last averaged
    int skipped = 0;
    double gradNormSum = 0;
    boolean earlyStopped = false;
    for (int epoch = 0; epoch < config.ppoEpochs() && !earlyStopped; epoch++) {
      int[] order = CounterRng.permutation(rows.count(), CounterRng.deriveSeed(shuffleSeed, SHUFFLE_STREAM + epoch));
      LossStats last = null;
      for (int start = 0; start < rows.count(); start += stride * accumulation) {
        policy.zeroGrad();
        for (int j = 0; j < perStep; j++) {
          int from = split
              ? start + j * stride + (gather ? rank * share : 0)   // my share of minibatch j
              : start + (rank * perStep + j) * mini;             // my j-th whole minibatch
          int[] mine = Arrays.copyOfRange(order, from, from + share);
          last = accumulateGradients(agent, rows, mine, gradientScale, split);
          lossMeans.add(last);
          skipped += last.skipped() ? 1 : 0;
        }
        gradNormSum += optimizerStep(agent);
        optimizerSteps++;
        if (averaging.parameters() && ++unsynced == averaging.every()) {
          averageParameters(agent);
          unsynced = 0;
        }
      }
      // TRL checks early stopping at the end of each epoch on the last minibatch's policy KL
      // (with whole minibatches, the last rank holds the last minibatch of every step)
      if (config.earlyStopping()) {
        double policyKl = split ? last.policyKl()
            : collective.sum(new double[] {rank == world - 1 ? last.policyKl() : 0})[0];
        earlyStopped = PpoLoss.shouldStopEarly(policyKl, config.targetKl());
      }
    }
    if (!split) {
      lossMeans = lossMeans.summedOver(collective);
      skipped = (int) collective.sum(new double[] {skipped})[0];
    }
    if (averaging.parameters() && unsynced > 0) {
      averageParameters(agent); // replicas leave every PPO step identical
    }
    if (averaging.parameters()) {
      // each worker clipped and stepped on its own gradient: report the workers' mean norm
      gradNormSum = collective.sum(new double[] {gradNormSum})[0] / world;
    }
    // 7. KL controller, on the whole batch's objective/kl
    RolloutSums sums = prepared.sums();
    agent.setKl(agent.kl().updated(sums.objectiveKl(), Math.round(sums.sequences())));
    Map<String, Double> metrics = new LinkedHashMap<>(sums.metrics());
    metrics.put(MetricNames.KL_COEF, prepared.klCoef());
    metrics.putAll(lossMeans.means());
    // TRL computes var_explained from the averaged error and returns variance
    metrics.put(MetricNames.VAL_VAR_EXPLAINED,
        1 - metrics.get(MetricNames.VAL_ERROR) / metrics.get(MetricNames.RETURNS_VAR));
    metrics.put(MetricNames.GRAD_NORM, gradNormSum / optimizerSteps);
    metrics.put(MetricNames.SKIPPED_MINIBATCHES, (double) skipped);
    return new PpoStepReport(metrics, optimizerSteps, skipped, earlyStopped, agent.kl().coef());
  }

  /**
   * Forward and backward of one minibatch (this worker's rows {@code rows} of the prepared
   * batch), ADDING its gradient into {@code agent.policy().grads()}.
   *
   * @param gradientScale multiplies the upstream gradients: {@code W / gradient_accumulation_steps}
   *                      in training (accelerate divides the loss by the accumulation steps; W
   *                      undoes the averaging over workers), 1 for the plain gradient
   * @return the statistics of the whole minibatch (all workers)
   */
  public LossStats accumulateGradients(Agent agent, PreparedBatch prepared, int[] rows, double gradientScale) {
    return accumulateGradients(agent, TrainingRows.local(prepared), rows, gradientScale, true);
  }

  /**
   * @param shared the minibatch is split across the workers: its loss sums are all-reduced
   *               (else {@code rows} are the whole minibatch and its statistics are local)
   */
  private LossStats accumulateGradients(Agent agent, TrainingRows source, int[] rows, double gradientScale,
      boolean shared) {
    PpoBatch minibatch = source.batch().select(rows);
    int seq = minibatch.seq();
    int cols = minibatch.cols();
    CausalLm policy = agent.policy();
    training = grow(training, policy, rows.length, seq, true, false, recompute);
    ForwardResult out = policy.forward(training, minibatch.tokenBatch(),
        new ForwardOptions(minibatch.firstResponseColumn(), cols, ForwardOptions.Vocab.NONE, true, true));
    LossInputs in = new LossInputs(
        PpoBatch.rowsOf(source.logProbs(), rows, cols),
        PpoBatch.rowsOf(source.maskedValues(), rows, cols),
        out.logp().toDoubleMatrix(),                 // (b, T-1)
        firstColumns(out.values(), cols),            // (b, T-1)
        minibatch.mask(),
        PpoBatch.rowsOf(source.advantages(), rows, cols),
        PpoBatch.rowsOf(source.returns(), rows, cols),
        firstColumns(out.entropy(), cols));
    LossSums sums = loss.sums(in);
    LossStats stats = loss.stats(shared ? LossSums.fromArray(collective.sum(sums.toArray())) : sums);
    if (!Double.isFinite(stats.totalLoss())) {
      throw new IllegalStateException("agent " + agent.id() + ": PPO loss is " + stats.totalLoss()
          + " (policy " + stats.policyLoss() + ", value " + stats.valueLoss() + "); refusing to update the weights");
    }
    LossGradients grads = loss.gradients(in, stats).scaleInPlace(gradientScale);
    INDArray dLogp = grads.logProbsArray(policy.dataType());                   // (b, T-1)
    INDArray dValues = Nd4j.zeros(policy.dataType(), rows.length, seq);        // (b, T): no loss on the last column
    dValues.get(NDArrayIndex.all(),
        NDArrayIndex.interval(0, cols)).assign(grads.valuePredsArray(policy.dataType()));
    policy.backward(training, dLogp, null, dValues);
    return stats;
  }

  /**
   * Averages the gradients over workers (unless parameters are averaged instead), clips their
   * global norm if asked, and steps Adam.
   *
   * @return the gradient's L2 norm before clipping
   */
  private double optimizerStep(Agent agent) {
    INDArray grads = agent.policy().grads().flat();
    if (!averaging.parameters()) {
      collective.averageInPlace(grads);
    }
    double norm = grads.norm2Number().doubleValue();
    OptionalDouble maxNorm = config.maxGradNorm();
    if (maxNorm.isPresent()) {
      double coef = maxNorm.getAsDouble() / (norm + CLIP_EPS);
      if (coef < 1) {
        grads.muli(coef);
      }
    }
    agent.optimizer().step(agent.policy()); // on the policy's device when it is placed
    return norm;
  }

  /**
   * Replaces the policy's parameters and Adam moments (m and v) by their means over workers,
   * bit-identical on every worker afterwards. The step counts are equal already.
   */
  private void averageParameters(Agent agent) {
    collective.averageInPlace(agent.policy().params().flat());
    collective.averageInPlace(agent.optimizer().state());
  }

  /**
   * Old log-probs, reference log-probs, values and KL of a whole batch, in forward-batch chunks.
   * For the exact ("full") KL the reference runs first and returns its (rows, V) log-probs; the
   * policy's forward reads them row by row in its vocabulary pass (the engine's fused KL), so
   * only one (rows, V) block is ever held.
   */
  private Scored score(CausalLm policy, PpoBatch batch) {
    int rows = batch.rows();
    int cols = batch.cols();
    Scored s = new Scored(rows, cols);
    boolean full = config.klPenalty() == KlPenalty.FULL;
    for (int from = 0; from < rows; from += forwardBatchSize) {
      int to = Math.min(rows, from + forwardBatchSize);
      PpoBatch chunk = batch.slice(from, to);
      int seq = chunk.seq();
      int firstCol = chunk.firstResponseColumn();
      policyScoring = grow(policyScoring, policy, to - from, seq, false, false, false);
      referenceScoring = grow(referenceScoring, reference, to - from, seq, false, full, false);
      ForwardResult r = reference.forward(referenceScoring, chunk.tokenBatch(), new ForwardOptions(firstCol,
          seq - 1, full ? ForwardOptions.Vocab.LOG_PROBS : ForwardOptions.Vocab.NONE, false, false));
      ForwardResult p = policy.forward(policyScoring, chunk.tokenBatch(),
          new ForwardOptions(firstCol, seq - 1, ForwardOptions.Vocab.NONE, false, true), full ? r.vocab() : null);
      double[][] logp = p.logp().toDoubleMatrix();          // (b, T_chunk - 1)
      double[][] refLogp = r.logp().toDoubleMatrix();
      double[][] values = firstColumns(p.values(), seq - 1);
      double[][] fullKl = full ? firstColumns(p.kl(), seq - 1) : null; // 0 outside the computed columns
      for (int b = 0; b < to - from; b++) {
        System.arraycopy(logp[b], 0, s.logProbs[from + b], 0, seq - 1);
        System.arraycopy(refLogp[b], 0, s.refLogProbs[from + b], 0, seq - 1);
        System.arraycopy(values[b], 0, s.values[from + b], 0, seq - 1);
        if (full) {
          System.arraycopy(fullKl[b], 0, s.kl[from + b], 0, seq - 1);
        }
      }
    }
    if (!full) {
      double[][] kl = config.klPenalty().perToken(s.logProbs, s.refLogProbs);
      for (int j = 0; j < rows; j++) {
        System.arraycopy(kl[j], 0, s.kl[j], 0, cols);
      }
    }
    return s;
  }

  /** (B, T-1) grids of the rollout forward passes. */
  private static final class Scored {
    final double[][] logProbs;
    final double[][] refLogProbs;
    final double[][] values;
    final double[][] kl;

    Scored(int rows, int cols) {
      logProbs = new double[rows][cols];
      refLogProbs = new double[rows][cols];
      values = new double[rows][cols];
      kl = new double[rows][cols];
    }
  }

  /** The first {@code cols} columns of a (B, T) output as a double grid. */
  private static double[][] firstColumns(INDArray bt, int cols) {
    double[][] all = bt.toDoubleMatrix();
    double[][] out = new double[all.length][];
    for (int j = 0; j < all.length; j++) {
      out[j] = Arrays.copyOf(all[j], cols);
    }
    return out;
  }

  /** {@code current} when it fits, else a new workspace at least as large in both dimensions. */
  private static Workspace grow(Workspace current, CausalLm model, int batch, int seq, boolean training,
      boolean fullVocab, boolean recompute) {
    if (current != null && current.maxBatch() >= batch && current.maxSeq() >= seq) {
      return current;
    }
    int b = current == null ? batch : Math.max(batch, current.maxBatch());
    int t = current == null ? seq : Math.max(seq, current.maxSeq());
    if (current != null) {
      current.release(); // on a device its memory goes back to the arena for the larger one
    }
    return model.newWorkspace(b, Math.min(t, model.config().maxPositions()), training, fullVocab, recompute);
  }

  /** Running means of the minibatch loss statistics (TRL averages them over the whole step). */
  private static final class StatsMean {
    private final Map<String, Double> sums = new LinkedHashMap<>();
    private int count;

    void add(LossStats s) {
      s.metrics().forEach((k, v) -> sums.merge(k, v, Double::sum));
      count++;
    }

    Map<String, Double> means() {
      Map<String, Double> out = new LinkedHashMap<>();
      sums.forEach((k, v) -> out.put(k, v / count));
      return out;
    }

    /** The sums and counts of every worker's minibatches (same keys in the same order everywhere). */
    StatsMean summedOver(Collective collective) {
      double[] local = new double[sums.size() + 1];
      int i = 0;
      for (double v : sums.values()) {
        local[i++] = v;
      }
      local[i] = count;
      double[] all = collective.sum(local);
      StatsMean out = new StatsMean();
      i = 0;
      for (String k : sums.keySet()) {
        out.sums.put(k, all[i++]);
      }
      out.count = (int) Math.round(all[i]);
      return out;
    }
  }
}
