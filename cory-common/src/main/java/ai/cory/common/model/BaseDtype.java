package ai.cory.common.model;

import java.util.Arrays;
import java.util.Locale;

/**
 * How the frozen base's projection matrices are stored ({@code cory.model.base-dtype}). Compute
 * always runs in the model's float type: a tile of rows is dequantised into float scratch and the
 * same GEMMs run on it. Embeddings, the output head, norms and biases stay in the model's type
 * (bitsandbytes also leaves them unquantised).
 */
public enum BaseDtype {
  /** The model's own float type, no compression. */
  FLOAT32("float32", 32),
  /** bfloat16, round to nearest even. */
  BF16("bf16", 16),
  /** IEEE binary16, round to nearest even. */
  FP16("fp16", 16),
  /** int8 with one absmax scale per output row: {@code w = q * absmax / 127}. */
  INT8("int8", 8),
  /** QLoRA's 4-bit NormalFloat: blocks of 64 along a row, one absmax per block, the NF4 code table. */
  NF4("nf4", 4),
  /** NF4 with QLoRA's double quantisation: each block's absmax stored in 8 bits. */
  NF4_DQ("nf4-dq", 4);

  private final String key;
  private final int bits;

  BaseDtype(String key, int bits) {
    this.key = key;
    this.bits = bits;
  }

  /** The configuration spelling. */
  public String key() {
    return key;
  }

  /** Bits per stored weight, scales not counted. */
  public int bits() {
    return bits;
  }

  /** Parses the configuration spelling (case-insensitive). */
  public static BaseDtype parse(String text) {
    for (BaseDtype d : values()) {
      if (d.key.equalsIgnoreCase(text.trim())) {
        return d;
      }
    }
    throw new IllegalArgumentException("unknown base dtype '" + text + "'; use one of "
        + Arrays.stream(values()).map(d -> d.key).toList());
  }

  @Override
  public String toString() {
    return key.toLowerCase(Locale.ROOT);
  }
}
