package ai.cory.common.ppo;

/**
 * Adaptive KL coefficient of Ziegler et al. 2019 ("Fine-Tuning Language Models from Human
 * Preferences", section 2.2, https://arxiv.org/abs/1909.08593), as TRL's
 * {@code AdaptiveKLController}:
 * <pre>
 *   e     = clip(KL / target - 1, -0.2, 0.2)
 *   beta <- beta (1 + e n / horizon)
 * </pre>
 *
 * @param coef    current beta, >= 0
 * @param target  KL the controller steers towards (TRL {@code target}, default 6), > 0
 * @param horizon steps over which the error is corrected (TRL {@code horizon}, default 10000), > 0
 */
public record AdaptiveKlController(double coef, double target, double horizon) implements KlController {

  /** Bound on the proportional error (Ziegler et al.). */
  public static final double MAX_PROPORTIONAL_ERROR = 0.2;

  public AdaptiveKlController {
    if (!(coef >= 0) || !Double.isFinite(coef)) {
      throw new IllegalArgumentException("KL coefficient must be finite and >= 0, got " + coef);
    }
    if (!(target > 0) || !(horizon > 0)) {
      throw new IllegalArgumentException("adaptive KL controller needs target > 0 and horizon > 0, got target "
          + target + ", horizon " + horizon);
    }
  }

  @Override
  public AdaptiveKlController updated(double observedKl, long nSteps) {
    double error = Math.min(Math.max(observedKl / target - 1, -MAX_PROPORTIONAL_ERROR), MAX_PROPORTIONAL_ERROR);
    return new AdaptiveKlController(coef * (1 + error * nSteps / horizon), target, horizon);
  }
}
