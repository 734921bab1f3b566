package ai.cory.common.ppo;

import java.util.OptionalDouble;

/**
 * Score scaling, normalisation and clipping at the start of TRL 0.7.9 {@code PPOTrainer.step}:
 * <pre>
 *   if use_score_scaling:
 *       running <- running.update(scores)                 (RunningMoments, whole batch)
 *       s = (s - running.mean) / (running.std + eps)      if use_score_norm
 *       s = s / (running.std + eps)                       otherwise
 *   if score_clip is set:  s = clip(s, -score_clip, score_clip)
 * </pre>
 * eps is TRL's {@code torch.finfo(scores.dtype).eps}: float32's 2^-23 for reward-model scores.
 *
 * @param scale     TRL {@code use_score_scaling}
 * @param normalize TRL {@code use_score_norm} (only with {@code scale})
 * @param clip      TRL {@code score_clip}: clip to [-clip, clip] when present
 * @param eps       added to the running std before dividing
 */
public record ScoreTransform(boolean scale, boolean normalize, OptionalDouble clip, double eps) {

  public ScoreTransform {
    if (normalize && !scale) {
      throw new IllegalArgumentException("score normalisation (use_score_norm) needs score scaling "
          + "(use_score_scaling)");
    }
    if (clip.isPresent() && !(clip.getAsDouble() > 0)) {
      throw new IllegalArgumentException("score clip must be > 0, got " + clip.getAsDouble());
    }
    if (!(eps >= 0)) {
      throw new IllegalArgumentException("score scaling eps must be >= 0, got " + eps);
    }
  }

  /** The transform a validated config asks for. */
  public static ScoreTransform from(PpoConfig config) {
    return new ScoreTransform(config.useScoreScaling(), config.useScoreNorm(), config.scoreClip(),
        config.scoreScalingEps());
  }

  /**
   * Transformed scores and the running moments after this batch.
   *
   * @param scores  this worker's transformed scores, same order as the input
   * @param moments the running moments to keep for the next step (unchanged unless scaling)
   */
  public record Result(double[] scores, RunningMoments moments) {}

  /** One worker holding the whole batch. */
  public Result apply(double[] scores, RunningMoments running) {
    return apply(scores, running, scale ? MaskedMoments.twoPass(scores) : null);
  }

  /**
   * This worker's shard of the batch, with the batch moments gathered across workers.
   *
   * @param scores       (b) this worker's raw scores
   * @param running      running moments before this step
   * @param batchMoments all-reduced moments of the whole batch's raw scores; ignored (may be
   *                     null) unless {@link #scale}
   */
  public Result apply(double[] scores, RunningMoments running, MaskedMoments batchMoments) {
    double[] out = scores.clone();
    RunningMoments next = running;
    if (scale) {
      next = running.updated(batchMoments);
      double divisor = next.std() + eps;
      double shift = normalize ? next.mean() : 0.0;
      for (int i = 0; i < out.length; i++) {
        out[i] = (out[i] - shift) / divisor;
      }
    }
    if (clip.isPresent()) {
      double c = clip.getAsDouble();
      for (int i = 0; i < out.length; i++) {
        out[i] = Math.min(Math.max(out[i], -c), c);
      }
    }
    return new Result(out, next);
  }
}
