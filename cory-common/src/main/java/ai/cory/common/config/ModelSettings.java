package ai.cory.common.config;

import java.io.Serializable;
import java.util.Objects;

/**
 * {@code cory.model}: the pretrained LM both agents and the frozen reference start from.
 *
 * @param path             Hugging Face model directory, local path or Hadoop URI
 * @param precision        weights, activations and optimizer state
 * @param valueHeadSeed    seed of the fresh value heads (agent B uses the next stream)
 * @param forwardBatchSize rows per scoring forward pass over a rollout batch, {@code > 0}
 */
public record ModelSettings(String path, Precision precision, long valueHeadSeed, int forwardBatchSize)
    implements Serializable {
  private static final long serialVersionUID = 1L;

  public ModelSettings {
    Objects.requireNonNull(path, "path");
    Objects.requireNonNull(precision, "precision");
    if (forwardBatchSize <= 0) {
      throw new IllegalArgumentException("forwardBatchSize must be > 0, got " + forwardBatchSize);
    }
  }
}
