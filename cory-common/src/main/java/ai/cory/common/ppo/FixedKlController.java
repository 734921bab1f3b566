package ai.cory.common.ppo;

/**
 * A constant KL coefficient (TRL {@code adap_kl_ctrl=False}).
 *
 * @param coef beta, >= 0
 */
public record FixedKlController(double coef) implements KlController {

  public FixedKlController {
    if (!(coef >= 0) || !Double.isFinite(coef)) {
      throw new IllegalArgumentException("KL coefficient must be finite and >= 0, got " + coef);
    }
  }

  /** Unchanged. */
  @Override
  public KlController updated(double observedKl, long nSteps) {
    return this;
  }
}
