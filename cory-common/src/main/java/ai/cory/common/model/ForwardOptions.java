package ai.cory.common.model;

/**
 * What a forward pass computes. The vocabulary head (the largest GEMM for GPT-2) runs only for
 * the columns {@code [fromCol, toCol)}; PPO asks for the response columns only.
 *
 * @param fromCol first column whose next-token distribution is computed
 * @param toCol   one past the last such column; {@code T - 1} covers every column that has a next
 *                token, {@code T} adds the last position (no taken token there)
 * @param vocab   whether the (rows, V) block is returned, as raw logits or as log-probabilities
 * @param entropy also compute the entropy of each computed distribution
 * @param values  also compute the value head on every position
 */
public record ForwardOptions(int fromCol, int toCol, Vocab vocab, boolean entropy,
    boolean values) {

  /** What to keep of the (rows, V) block. */
  public enum Vocab {
    /** Only per-row reductions (taken-token log-prob, log-sum-exp, entropy). */
    NONE,
    /** The raw logits. */
    LOGITS,
    /** {@code log softmax(logits)}: the input of the exact KL and the entropy. */
    LOG_PROBS
  }

  public ForwardOptions {
    if (fromCol < 0 || toCol < fromCol) {
      throw new IllegalArgumentException("column range [" + fromCol + ", " + toCol + ") invalid");
    }
    if (vocab == null) {
      throw new IllegalArgumentException("vocab must be given");
    }
  }

  /** Taken-token log-probs of columns {@code [fromCol, seq - 1)} and the values (PPO). */
  public static ForwardOptions logprobsAndValues(int fromCol, int seq) {
    return new ForwardOptions(fromCol, seq - 1, Vocab.NONE, false, true);
  }

  /** Taken-token log-probs of columns {@code [fromCol, seq - 1)} only (scoring, reference). */
  public static ForwardOptions logprobs(int fromCol, int seq) {
    return new ForwardOptions(fromCol, seq - 1, Vocab.NONE, false, false);
  }

  /** Raw logits of every position (tests, evaluation). */
  public static ForwardOptions allLogits(int seq) {
    return new ForwardOptions(0, seq, Vocab.LOGITS, false, false);
  }

  /** The same request with entropies. */
  public ForwardOptions withEntropy() {
    return new ForwardOptions(fromCol, toCol, vocab, true, values);
  }

  /** Number of columns the head runs on. */
  public int columns() {
    return toCol - fromCol;
  }
}
