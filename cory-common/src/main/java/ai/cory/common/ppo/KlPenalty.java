package ai.cory.common.ppo;

import java.util.Locale;

/**
 * Per-token estimators of KL(pi || pi_ref) used for the reward penalty (TRL
 * {@code PPOTrainer._kl_penalty}, config key {@code kl_penalty}). All are computed on every
 * column of the (B, T) grid; the mask is applied later.
 */
public enum KlPenalty {
  /** k1: {@code logp - ref_logp} of the sampled token (unbiased, can be negative). */
  KL,
  /** {@code |logp - ref_logp|}. */
  ABS,
  /** {@code 0.5 (logp - ref_logp)^2}. */
  MSE,
  /**
   * Exact {@code sum_v p(v) (log p(v) - log p_ref(v))} over the vocabulary at each position
   * (TRL: {@code F.kl_div(ref_logprob, logprob, log_target=True).sum(-1)}); needs the
   * full-vocabulary log-prob rows, see {@link FullVocab#kl(double[], double[])}. The reference
   * CORY code uses this one.
   */
  FULL;

  /** The TRL config spelling: "kl", "abs", "mse", "full". */
  public String trlName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses the TRL config spelling (case-insensitive). */
  public static KlPenalty fromTrlName(String name) {
    for (KlPenalty k : values()) {
      if (k.trlName().equalsIgnoreCase(name)) {
        return k;
      }
    }
    throw new IllegalArgumentException("unknown kl_penalty '" + name + "', expected one of kl, abs, mse, full");
  }

  /**
   * The estimate for one token from the sampled token's log-probs.
   *
   * @throws UnsupportedOperationException for {@link #FULL}, which needs whole vocabulary rows
   */
  public double perToken(double logProb, double refLogProb) {
    double k1 = logProb - refLogProb;
    return switch (this) {
      case KL -> k1;
      case ABS -> Math.abs(k1);
      case MSE -> 0.5 * k1 * k1;
      case FULL -> throw new UnsupportedOperationException(
          "the 'full' KL needs the full-vocabulary log-prob rows: use FullVocab.kl");
    };
  }

  /**
   * The estimate on every column of (B, T) grids of the sampled tokens' log-probs.
   *
   * @throws UnsupportedOperationException for {@link #FULL}
   */
  public double[][] perToken(double[][] logProbs, double[][] refLogProbs) {
    Grids.requireGrid("logProbs", logProbs);
    Grids.requireSameShape("refLogProbs", refLogProbs, "logProbs", logProbs);
    double[][] out = new double[logProbs.length][logProbs[0].length];
    for (int j = 0; j < logProbs.length; j++) {
      for (int t = 0; t < logProbs[j].length; t++) {
        out[j][t] = perToken(logProbs[j][t], refLogProbs[j][t]);
      }
    }
    return out;
  }
}
