package ai.cory.common.model;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Outputs of {@link CausalLm#forward}. Every array is a view into the {@link Workspace}: valid
 * until the next forward on that workspace (copy with {@code dup()} to keep). Entries outside
 * the requested columns are 0.
 *
 * @param logp      (B, T-1): {@code logp[b, t] = log softmax(logits[b, t])[tokens[b, t+1]]}
 * @param logsumexp (B, T): log-sum-exp of the logits at each computed position
 * @param entropy   (B, T): entropy of each computed distribution, or null
 * @param kl        (B, T): {@code sum_v p(v) (log p(v) - log q(v))} against the reference
 *                  log-probs passed to forward (TRL's "full" KL estimator), or null
 * @param values    (B, T): value head, or null
 * @param vocab     (B * (toCol - fromCol), V): logits or log-probs, row {@code b * cols + (t -
 *                  fromCol)} for position (b, t); or null
 * @param fromCol   first computed column
 * @param toCol     one past the last computed column
 */
public record ForwardResult(INDArray logp, INDArray logsumexp, INDArray entropy, INDArray kl,
    INDArray values, INDArray vocab, int fromCol, int toCol) {

  /** Row of {@link #vocab} holding position (b, t). */
  public int vocabRow(int b, int t) {
    if (t < fromCol || t >= toCol) {
      throw new IllegalArgumentException("column " + t + " outside [" + fromCol + ", " + toCol
          + ")");
    }
    return b * (toCol - fromCol) + (t - fromCol);
  }
}
