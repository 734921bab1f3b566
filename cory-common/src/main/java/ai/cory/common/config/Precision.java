package ai.cory.common.config;

import org.nd4j.linalg.api.buffer.DataType;

/** Floating-point precision of a model's weights, activations and optimizer state. */
public enum Precision {
  FLOAT32(DataType.FLOAT),
  FLOAT64(DataType.DOUBLE);

  private final DataType dataType;

  Precision(DataType dataType) {
    this.dataType = dataType;
  }

  /** The ND4J type. */
  public DataType dataType() {
    return dataType;
  }
}
