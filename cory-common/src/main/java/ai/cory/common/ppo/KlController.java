package ai.cory.common.ppo;

/**
 * The KL-penalty coefficient beta and its update rule after each PPO step (TRL 0.7.9
 * {@code trl/trainer/utils.py}: {@code FixedKLController}, {@code AdaptiveKLController}).
 * Implementations are immutable values: {@link #updated} returns the next controller, so the
 * state checkpoints as plain numbers and an agent reset is a new instance.
 */
public sealed interface KlController permits FixedKlController, AdaptiveKlController {

  /** The current coefficient beta. */
  double coef();

  /**
   * The controller after one PPO step.
   *
   * @param observedKl the step's {@code objective/kl}: mean over the WHOLE batch (all workers)
   *                   of each sequence's summed masked KL, {@link RolloutSums#objectiveKl()}
   * @param nSteps     sequences in the whole batch (TRL: {@code batch_size * num_processes})
   */
  KlController updated(double observedKl, long nSteps);

  /** The controller a config asks for, at its initial coefficient. */
  static KlController from(PpoConfig config) {
    return config.adapKlCtrl()
        ? new AdaptiveKlController(config.initKlCoef(), config.target(), config.horizon())
        : new FixedKlController(config.initKlCoef());
  }
}
