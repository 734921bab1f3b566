package ai.cory.common.io;

import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Element types of the safetensors format (https://github.com/huggingface/safetensors, {@code
 * Dtype} enum) with their sizes. Every type is recognised so that header validation can check
 * byte ranges of any tensor; only the floating types can be read into float arrays, and
 * {@link #writable()} lists what {@link SafeTensorsWriter} stores.
 */
public enum SafeTensorsDtype {
  BOOL(1), U8(1), I8(1), F8_E4M3(1), F8_E5M2(1),
  I16(2), U16(2), F16(2), BF16(2),
  I32(4), U32(4), F32(4),
  I64(8), U64(8), F64(8);

  /** Bytes per element. */
  final int bytes;

  SafeTensorsDtype(int bytes) {
    this.bytes = bytes;
  }

  /** True for the types {@link SafeTensors#readInto} widens to float32 / float64. */
  boolean readable() {
    return this == F16 || this == BF16 || this == F32 || this == F64;
  }

  /** The types {@link SafeTensorsWriter} can store: F32, F16, BF16, F64. */
  public static List<SafeTensorsDtype> writable() {
    return List.of(F32, F16, BF16, F64);
  }

  /** The type that stores {@code type} without loss (FLOAT F32, DOUBLE F64, HALF F16, BFLOAT16 BF16). */
  public static SafeTensorsDtype lossless(DataType type) {
    return switch (type) {
      case FLOAT -> F32;
      case DOUBLE -> F64;
      case HALF -> F16;
      case BFLOAT16 -> BF16;
      default -> throw new IllegalArgumentException("only float arrays can be written, got " + type);
    };
  }

  /** Parses a header's {@code "dtype"} value; null when unknown. */
  static SafeTensorsDtype parse(String text) {
    for (SafeTensorsDtype d : values()) {
      if (d.name().equals(text)) {
        return d;
      }
    }
    return null;
  }

  static String readableNames() {
    return Arrays.stream(values()).filter(SafeTensorsDtype::readable).map(Enum::name)
        .collect(Collectors.joining(", "));
  }
}
