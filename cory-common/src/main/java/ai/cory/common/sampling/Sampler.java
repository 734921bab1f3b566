package ai.cory.common.sampling;

import org.nd4j.linalg.api.ndarray.INDArray;

/** Chooses the next token of every active row from the logits of the last position. */
@FunctionalInterface
public interface Sampler {

  /**
   * @param logits (B, V) logits of the last position, FLOAT or DOUBLE, any strides; not modified
   * @param batch  per-row context; {@code batch.rows()} must equal B
   * @param step   0-based index of the token being generated in this generation
   * @param out    (B) receives the chosen id of each active row; inactive rows are untouched
   * @return {@code out}
   */
  int[] sample(INDArray logits, SamplingBatch batch, int step, int[] out);
}
