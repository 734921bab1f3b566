package ai.cory.common.config;

import java.io.Serializable;
import java.util.Objects;

/**
 * {@code cory.optimizer}: Adam without weight decay at the constant {@code cory.ppo.learning-rate}.
 *
 * @param beta1              first-moment decay, in [0, 1)
 * @param beta2              second-moment decay, in [0, 1)
 * @param epsilon            denominator guard, {@code > 0}
 * @param epsilonConvention  where epsilon enters the update
 */
public record OptimizerSettings(double beta1, double beta2, double epsilon, EpsilonConvention epsilonConvention)
    implements Serializable {
  private static final long serialVersionUID = 1L;

  /**
   * PyTorch (and TRL) compute {@code m_hat / (sqrt(v_hat) + eps)}; ND4J's native Adam computes
   * {@code sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + eps)}. The two agree when ND4J is
   * given {@code eps * sqrt(1 - beta2^t)} at step t, which is what {@link #TORCH} does.
   */
  public enum EpsilonConvention {
    /** PyTorch's placement (default; what the paper's runs used). */
    TORCH,
    /** ND4J's native placement. */
    ND4J
  }

  public OptimizerSettings {
    Objects.requireNonNull(epsilonConvention, "epsilonConvention");
    if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
      throw new IllegalArgumentException("Adam betas must be in [0, 1), got " + beta1 + ", " + beta2);
    }
    if (!(epsilon > 0) || !Double.isFinite(epsilon)) {
      throw new IllegalArgumentException("Adam epsilon must be finite and > 0, got " + epsilon);
    }
  }

  /** beta1 0.9, beta2 0.999, eps 1e-8, PyTorch placement (CORY.md section 1). */
  public static OptimizerSettings defaults() {
    return new OptimizerSettings(0.9, 0.999, 1e-8, EpsilonConvention.TORCH);
  }
}
