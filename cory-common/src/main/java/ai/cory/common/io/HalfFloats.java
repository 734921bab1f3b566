package ai.cory.common.io;

/**
 * Conversions between float32 and the two 16-bit float formats of model checkpoints: IEEE 754
 * binary16 ("F16": 1 sign, 5 exponent, 10 mantissa bits) and bfloat16 ("BF16": the upper 16 bits
 * of a float32). Written by hand because {@code Float.float16ToFloat} needs Java 20 and ND4J's
 * BFLOAT16 buffers read from mapped memory return garbage (STACK.md). Narrowing rounds to
 * nearest, ties to even, like {@code torch.Tensor.to(torch.float16 / torch.bfloat16)}.
 */
public final class HalfFloats {
  private HalfFloats() {}

  /** Exact value of the binary16 number with bits {@code h} (low 16 bits), incl. subnormals, inf, NaN. */
  public static float f16ToFloat(int h) {
    int sign = (h & 0x8000) << 16;
    int exponent = (h >>> 10) & 0x1F;
    int mantissa = h & 0x3FF;
    if (exponent == 0x1F) { // inf (mantissa 0) or NaN (payload kept in the top mantissa bits)
      return Float.intBitsToFloat(sign | 0x7F80_0000 | (mantissa << 13));
    }
    if (exponent == 0) { // zero or subnormal: mantissa * 2^-24, exact in float32
      float magnitude = mantissa * 0x1p-24f;
      return sign != 0 ? -magnitude : magnitude;
    }
    // normal: rebias the exponent 15 -> 127 and left-align the mantissa (10 -> 23 bits)
    return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
  }

  /** Exact value of the bfloat16 number with bits {@code b} (low 16 bits). */
  public static float bf16ToFloat(int b) {
    return Float.intBitsToFloat((b & 0xFFFF) << 16);
  }

  /** Nearest binary16 (ties to even); overflow gives +-inf, NaN stays NaN. Returns the 16 bits. */
  public static short floatToF16(float f) {
    int bits = Float.floatToRawIntBits(f);
    int sign = (bits >>> 16) & 0x8000;
    int exponent = (bits >>> 23) & 0xFF;
    int mantissa = bits & 0x7F_FFFF;
    if (exponent == 0xFF) { // inf stays inf; NaN keeps a quiet bit so it cannot become inf
      return (short) (sign | 0x7C00 | (mantissa != 0 ? 0x200 | (mantissa >>> 13) : 0));
    }
    int halfExponent = exponent - 127 + 15;
    if (halfExponent >= 0x1F) {
      return (short) (sign | 0x7C00);
    }
    if (halfExponent <= 0) { // binary16 subnormal (or zero): m * 2^-24 with m = value * 2^24
      if (halfExponent < -10) { // below half of the smallest subnormal 2^-24: rounds to zero
        return (short) sign;
      }
      int full = mantissa | 0x80_0000; // implicit leading one
      int shift = 14 - halfExponent;
      return (short) (sign | roundShift(full, shift));
    }
    int half = (halfExponent << 10) | (mantissa >>> 13);
    int rest = mantissa & 0x1FFF;
    if (rest > 0x1000 || (rest == 0x1000 && (half & 1) == 1)) {
      half++; // a carry into the exponent is correct (rounds up to the next binade or to inf)
    }
    return (short) (sign | half);
  }

  /** Nearest bfloat16 (ties to even); NaN stays NaN. Returns the 16 bits. */
  public static short floatToBf16(float f) {
    int bits = Float.floatToRawIntBits(f);
    if (Float.isNaN(f)) {
      return (short) ((bits >>> 16) | 0x40);
    }
    return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
  }

  private static int roundShift(int value, int shift) {
    int kept = value >>> shift;
    int rest = value & ((1 << shift) - 1);
    int halfway = 1 << (shift - 1);
    if (rest > halfway || (rest == halfway && (kept & 1) == 1)) {
      kept++;
    }
    return kept;
  }
}
