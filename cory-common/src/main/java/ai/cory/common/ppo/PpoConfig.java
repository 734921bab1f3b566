package ai.cory.common.ppo;

import java.util.Objects;
import java.util.OptionalDouble;

/**
 * PPO hyper-parameters with TRL 0.7.9 {@code PPOConfig} meaning (names in camelCase; the TRL
 * key is given for each). Sizes count sequences of the WHOLE batch across all workers: a
 * W-worker run is the same PPO update as one worker holding the batch.
 *
 * <p>Presets: {@link #defaults()} (the paper's IMDB column, CORY.md section 6),
 * {@link #coryReferenceCode()} (the authors' {@code imdb_train/cory.py}) and
 * {@link #trlDefaults()} (TRL 0.7.9's own defaults). Change single values with
 * {@link #toBuilder()}.
 *
 * @param learningRate              Adam step size ({@code learning_rate}); paper IMDB 1.41e-5
 * @param batchSize                 rollouts per PPO step, whole batch ({@code batch_size}); 256
 * @param miniBatchSize             sequences per forward/backward pass ({@code mini_batch_size}); 256
 * @param gradientAccumulationSteps mini-batches whose gradients add up to one optimizer step
 *                                  ({@code gradient_accumulation_steps}); 1
 * @param ppoEpochs                 passes over the batch per step ({@code ppo_epochs}); 4
 * @param gamma                     discount of the GAE ({@code gamma}); 1
 * @param lam                       GAE lambda ({@code lam}); 0.95
 * @param cliprange                 policy ratio clip epsilon ({@code cliprange}); 0.2
 * @param cliprangeValue            value clip half-width around the old values ({@code cliprange_value}); 0.2
 * @param vfCoef                    value-loss weight in the total loss ({@code vf_coef}); 0.1
 * @param ratioThreshold            skip a mini-batch whose mean ratio exceeds this ({@code ratio_threshold}); 10
 * @param initKlCoef                initial KL-penalty coefficient beta ({@code init_kl_coef}); paper 0.3
 * @param adapKlCtrl                adaptive (Ziegler et al.) instead of fixed beta ({@code adap_kl_ctrl}); true
 * @param target                    KL the adaptive controller steers to ({@code target}); 6
 * @param horizon                   adaptive controller horizon in sequences ({@code horizon}); 10000
 * @param klPenalty                 per-token KL estimator ({@code kl_penalty}); TRL default "kl"
 * @param whitenRewards             whiten the masked rewards before GAE ({@code whiten_rewards}); false
 * @param useScoreScaling           divide scores by their running std ({@code use_score_scaling}); false
 * @param useScoreNorm              also subtract the running mean ({@code use_score_norm}); needs scaling; false
 * @param scoreClip                 clip scores to [-c, c] after scaling ({@code score_clip}); none
 * @param scoreScalingEps           added to the running std: TRL's {@code torch.finfo(float32).eps} = 2^-23
 * @param maxGradNorm               clip the global gradient L2 norm to this ({@code max_grad_norm}); none
 * @param earlyStopping             stop the epochs when policy KL > 1.5 targetKl ({@code early_stopping}); false
 * @param targetKl                  early-stopping target ({@code target_kl}); 1
 */
public record PpoConfig(
    double learningRate,
    int batchSize,
    int miniBatchSize,
    int gradientAccumulationSteps,
    int ppoEpochs,
    double gamma,
    double lam,
    double cliprange,
    double cliprangeValue,
    double vfCoef,
    double ratioThreshold,
    double initKlCoef,
    boolean adapKlCtrl,
    double target,
    double horizon,
    KlPenalty klPenalty,
    boolean whitenRewards,
    boolean useScoreScaling,
    boolean useScoreNorm,
    OptionalDouble scoreClip,
    double scoreScalingEps,
    OptionalDouble maxGradNorm,
    boolean earlyStopping,
    double targetKl) {

  /** float32 machine epsilon 2^-23: TRL's score-scaling eps for float32 scores. */
  public static final double FLOAT32_EPS = 0x1.0p-23;

  public PpoConfig {
    Objects.requireNonNull(klPenalty, "klPenalty");
    Objects.requireNonNull(scoreClip, "scoreClip");
    Objects.requireNonNull(maxGradNorm, "maxGradNorm");
    positive("learningRate", learningRate);
    require(batchSize > 0, "batchSize must be > 0, got " + batchSize);
    require(miniBatchSize > 0, "miniBatchSize must be > 0, got " + miniBatchSize);
    require(gradientAccumulationSteps > 0, "gradientAccumulationSteps must be > 0, got " + gradientAccumulationSteps);
    require(wholeSteps(batchSize, miniBatchSize, gradientAccumulationSteps),
        "batchSize (" + batchSize + ") must be a multiple of miniBatchSize * gradientAccumulationSteps ("
            + miniBatchSize + " * " + gradientAccumulationSteps + ")");
    require(ppoEpochs > 0, "ppoEpochs must be > 0, got " + ppoEpochs);
    require(gamma >= 0 && gamma <= 1, "gamma must be in [0, 1], got " + gamma);
    require(lam >= 0 && lam <= 1, "lam must be in [0, 1], got " + lam);
    positive("cliprange", cliprange);
    positive("cliprangeValue", cliprangeValue);
    require(vfCoef >= 0 && Double.isFinite(vfCoef), "vfCoef must be finite and >= 0, got " + vfCoef);
    positive("ratioThreshold", ratioThreshold);
    require(initKlCoef >= 0 && Double.isFinite(initKlCoef), "initKlCoef must be finite and >= 0, got " + initKlCoef);
    positive("target", target);
    positive("horizon", horizon);
    require(!useScoreNorm || useScoreScaling, "useScoreNorm has no effect without useScoreScaling (TRL ignores "
        + "it silently); enable useScoreScaling or disable useScoreNorm");
    scoreClip.ifPresent(c -> positive("scoreClip", c));
    require(scoreScalingEps >= 0 && Double.isFinite(scoreScalingEps),
        "scoreScalingEps must be finite and >= 0, got " + scoreScalingEps);
    maxGradNorm.ifPresent(c -> positive("maxGradNorm", c));
    positive("targetKl", targetKl);
  }

  /**
   * The paper's IMDB column (CORY.md section 6): lr 1.41e-5, batch / mini-batch / accumulation
   * 256 / 256 / 1, 4 epochs, initial beta 0.3 (adaptive, target 6, horizon 10000), gamma 1,
   * lam 0.95, clips 0.2 / 0.2, vf_coef 0.1; TRL defaults for the rest ("kl" estimator, no score
   * scaling, no clipping of scores or gradients).
   */
  public static PpoConfig defaults() {
    return trlDefaults().toBuilder().learningRate(1.41e-5).miniBatchSize(256).initKlCoef(0.3).build();
  }

  /**
   * The authors' reference script {@code imdb_train/cory.py}: as {@link #defaults()} but
   * initial beta 0.4, the exact "full" KL and score scaling with normalisation.
   */
  public static PpoConfig coryReferenceCode() {
    return defaults().toBuilder().initKlCoef(0.4).klPenalty(KlPenalty.FULL).useScoreScaling(true)
        .useScoreNorm(true).build();
  }

  /** TRL 0.7.9 {@code PPOConfig()} defaults (lr 1e-5, batch 256, mini-batch 1, beta 0.2, "kl"). */
  public static PpoConfig trlDefaults() {
    return new PpoConfig(1e-5, 256, 1, 1, 4, 1.0, 0.95, 0.2, 0.2, 0.1, 10.0, 0.2, true, 6.0, 10000.0,
        KlPenalty.KL, false, false, false, OptionalDouble.empty(), FLOAT32_EPS, OptionalDouble.empty(), false, 1.0);
  }

  /** Sequences per optimizer step: {@code miniBatchSize * gradientAccumulationSteps} (TRL {@code backward_batch_size}). */
  public int backwardBatchSize() {
    return miniBatchSize * gradientAccumulationSteps;
  }

  /** Optimizer steps per PPO epoch: {@code batchSize / backwardBatchSize()}. */
  public int optimizerStepsPerEpoch() {
    return batchSize / backwardBatchSize();
  }

  /** A builder holding this config's values. */
  public Builder toBuilder() {
    return new Builder(this);
  }

  private static void positive(String field, double value) {
    require(value > 0 && Double.isFinite(value), field + " must be finite and > 0, got " + value);
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException("invalid PPO config: " + message);
    }
  }

  /** Mutable copy of a config; {@link #build()} validates. */
  public static final class Builder {
    private double learningRate;
    private int batchSize;
    private int miniBatchSize;
    private int gradientAccumulationSteps;
    private int ppoEpochs;
    private double gamma;
    private double lam;
    private double cliprange;
    private double cliprangeValue;
    private double vfCoef;
    private double ratioThreshold;
    private double initKlCoef;
    private boolean adapKlCtrl;
    private double target;
    private double horizon;
    private KlPenalty klPenalty;
    private boolean whitenRewards;
    private boolean useScoreScaling;
    private boolean useScoreNorm;
    private OptionalDouble scoreClip;
    private double scoreScalingEps;
    private OptionalDouble maxGradNorm;
    private boolean earlyStopping;
    private double targetKl;

    private Builder(PpoConfig c) {
      learningRate = c.learningRate;
      batchSize = c.batchSize;
      miniBatchSize = c.miniBatchSize;
      gradientAccumulationSteps = c.gradientAccumulationSteps;
      ppoEpochs = c.ppoEpochs;
      gamma = c.gamma;
      lam = c.lam;
      cliprange = c.cliprange;
      cliprangeValue = c.cliprangeValue;
      vfCoef = c.vfCoef;
      ratioThreshold = c.ratioThreshold;
      initKlCoef = c.initKlCoef;
      adapKlCtrl = c.adapKlCtrl;
      target = c.target;
      horizon = c.horizon;
      klPenalty = c.klPenalty;
      whitenRewards = c.whitenRewards;
      useScoreScaling = c.useScoreScaling;
      useScoreNorm = c.useScoreNorm;
      scoreClip = c.scoreClip;
      scoreScalingEps = c.scoreScalingEps;
      maxGradNorm = c.maxGradNorm;
      earlyStopping = c.earlyStopping;
      targetKl = c.targetKl;
    }

    public Builder learningRate(double v) { learningRate = v; return this; }
    public Builder batchSize(int v) { batchSize = v; return this; }
    public Builder miniBatchSize(int v) { miniBatchSize = v; return this; }
    public Builder gradientAccumulationSteps(int v) { gradientAccumulationSteps = v; return this; }
    public Builder ppoEpochs(int v) { ppoEpochs = v; return this; }
    public Builder gamma(double v) { gamma = v; return this; }
    public Builder lam(double v) { lam = v; return this; }
    public Builder cliprange(double v) { cliprange = v; return this; }
    public Builder cliprangeValue(double v) { cliprangeValue = v; return this; }
    public Builder vfCoef(double v) { vfCoef = v; return this; }
    public Builder ratioThreshold(double v) { ratioThreshold = v; return this; }
    public Builder initKlCoef(double v) { initKlCoef = v; return this; }
    public Builder adapKlCtrl(boolean v) { adapKlCtrl = v; return this; }
    public Builder target(double v) { target = v; return this; }
    public Builder horizon(double v) { horizon = v; return this; }
    public Builder klPenalty(KlPenalty v) { klPenalty = v; return this; }
    public Builder whitenRewards(boolean v) { whitenRewards = v; return this; }
    public Builder useScoreScaling(boolean v) { useScoreScaling = v; return this; }
    public Builder useScoreNorm(boolean v) { useScoreNorm = v; return this; }
    public Builder scoreClip(OptionalDouble v) { scoreClip = v; return this; }
    public Builder scoreScalingEps(double v) { scoreScalingEps = v; return this; }
    public Builder maxGradNorm(OptionalDouble v) { maxGradNorm = v; return this; }
    public Builder earlyStopping(boolean v) { earlyStopping = v; return this; }
    public Builder targetKl(double v) { targetKl = v; return this; }

    /** The validated config. */
    public PpoConfig build() {
      return new PpoConfig(learningRate, batchSize, miniBatchSize, gradientAccumulationSteps, ppoEpochs, gamma,
          lam, cliprange, cliprangeValue, vfCoef, ratioThreshold, initKlCoef, adapKlCtrl, target, horizon,
          klPenalty, whitenRewards, useScoreScaling, useScoreNorm, scoreClip, scoreScalingEps, maxGradNorm,
          earlyStopping, targetKl);
    }
  }

  /**
   * The rule that a batch is whole optimizer steps: {@code batch} a multiple of
   * {@code mini * accumulation} (the settings and the constructor both check it).
   */
  public static boolean wholeSteps(int batch, int mini, int accumulation) {
    return batch % ((long) mini * accumulation) == 0;
  }

  /**
   * The rule for W data-parallel workers: null when W divides the batch, and the minibatch (each
   * minibatch split over the workers) or the accumulation steps (each worker takes whole
   * minibatches of every optimizer step); else what is wrong. Checked by the settings and by
   * the PPO step.
   */
  public String workersProblem(int workers) {
    if (batchSize % workers != 0) {
      return "must divide cory.ppo.batch-size (" + batchSize + "), got " + workers;
    }
    if (miniBatchSize % workers != 0 && gradientAccumulationSteps % workers != 0) {
      return "must divide cory.ppo.mini-batch-size (" + miniBatchSize + ") or cory.ppo.gradient-accumulation-steps ("
          + gradientAccumulationSteps + "), got " + workers;
    }
    return null;
  }
}
