package ai.cory.common.ppo;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Analytic gradients of {@code loss/total} with respect to the fresh forward pass's outputs:
 * the upstream gradients from which the engine back-propagates into the policy and the value
 * head. Zero on masked-out columns and everywhere when the minibatch was skipped.
 *
 * @param logProbs   (B, T) d loss/total / d logprob of each sampled token
 * @param valuePreds (B, T) d loss/total / d value prediction (vf_coef included)
 */
public record LossGradients(double[][] logProbs, double[][] valuePreds) {

  /** {@link #logProbs()} as an ND4J array of the engine's type, shape (B, T). */
  public INDArray logProbsArray(DataType type) {
    return Grids.toINDArray(logProbs, type);
  }

  /** {@link #valuePreds()} as an ND4J array of the engine's type, shape (B, T). */
  public INDArray valuePredsArray(DataType type) {
    return Grids.toINDArray(valuePreds, type);
  }

  /** Multiplies both gradients in place by {@code factor} (e.g. 1 / gradient_accumulation_steps). */
  public LossGradients scaleInPlace(double factor) {
    for (double[][] g : new double[][][] {logProbs, valuePreds}) {
      for (double[] row : g) {
        for (int t = 0; t < row.length; t++) {
          row[t] *= factor;
        }
      }
    }
    return this;
  }
}
