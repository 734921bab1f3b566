package ai.cory.common.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.function.IntFunction;
import org.junit.jupiter.api.Test;

class HalfFloatsTest {

  /** binary16 value from the IEEE 754 definition, computed in double (independent of the code). */
  private static double f16Reference(int h) {
    int sign = (h >> 15) & 1;
    int e = (h >> 10) & 0x1F;
    int m = h & 0x3FF;
    double magnitude = e == 0 ? Math.scalb(m / 1024.0, -14)
        : e == 31 ? (m == 0 ? Double.POSITIVE_INFINITY : Double.NaN)
        : Math.scalb(1 + m / 1024.0, e - 15);
    return sign == 1 ? -magnitude : magnitude;
  }

  @Test
  void everyF16BitPatternWidensExactly() {
    for (int h = 0; h < 0x10000; h++) {
      double expected = f16Reference(h);
      float actual = HalfFloats.f16ToFloat(h);
      if (Double.isNaN(expected)) {
        assertTrue(Float.isNaN(actual), "NaN pattern " + Integer.toHexString(h));
      } else {
        assertEquals(expected, actual, 0.0, "pattern " + Integer.toHexString(h));
        assertEquals(Math.copySign(1.0, expected), Math.copySign(1.0, actual), "sign of " + h);
      }
    }
    assertEquals(1.0f, HalfFloats.f16ToFloat(0x3C00));
    assertEquals(65504f, HalfFloats.f16ToFloat(0x7BFF));
    assertEquals(5.9604645e-8f, HalfFloats.f16ToFloat(0x0001));
    assertEquals(Float.NEGATIVE_INFINITY, HalfFloats.f16ToFloat(0xFC00));
  }

  @Test
  void f16NarrowingRoundTripsEveryValueAndHandlesEdges() {
    for (int h = 0; h < 0x10000; h++) {
      float v = HalfFloats.f16ToFloat(h);
      if (!Float.isNaN(v)) {
        assertEquals(h, HalfFloats.floatToF16(v) & 0xFFFF, "round trip of " + Integer.toHexString(h));
      } else {
        assertTrue(Float.isNaN(HalfFloats.f16ToFloat(HalfFloats.floatToF16(v))));
      }
    }
    assertEquals(0x7C00, HalfFloats.floatToF16(65520f) & 0xFFFF, "65520 rounds (tie, to even) to inf");
    assertEquals(0x7BFF, HalfFloats.floatToF16(65519f) & 0xFFFF);
    assertEquals(0x0000, HalfFloats.floatToF16(0x1p-25f) & 0xFFFF, "half of min subnormal: tie to 0");
    assertEquals(0x0001, HalfFloats.floatToF16(0x1.000002p-25f) & 0xFFFF);
    assertEquals(0x8000, HalfFloats.floatToF16(-1e-30f) & 0xFFFF);
  }

  @Test
  void narrowingPicksTheNearestRepresentableValueTiesToEven() {
    SplittableRandom random = new SplittableRandom(7);
    for (int i = 0; i < 200_000; i++) {
      // random bit patterns of finite floats in the f16 range, plus scaled normals
      float x = i % 2 == 0 ? (float) (random.nextGaussian() * Math.scalb(1.0, random.nextInt(-26, 16)))
          : Float.intBitsToFloat(random.nextInt());
      if (Float.isNaN(x) || Float.isInfinite(x) || Math.abs(x) >= 65504f) {
        continue;
      }
      int h = HalfFloats.floatToF16(x) & 0xFFFF;
      checkNearest(x, h, HalfFloats::f16ToFloat);
      int b = HalfFloats.floatToBf16(x) & 0xFFFF;
      checkNearest(x, b, HalfFloats::bf16ToFloat);
    }
  }

  /** The chosen pattern is at least as close as both same-sign neighbours, and even on ties. */
  private static void checkNearest(float x, int bits, IntFunction<Float> widen) {
    double chosen = widen.apply(bits);
    double err = Math.abs(chosen - x);
    int sign = bits & 0x8000;
    int magnitude = bits & 0x7FFF;
    for (int neighbour : new int[] {magnitude - 1, magnitude + 1}) {
      float other = neighbour < 0 ? Float.NaN : widen.apply(sign | neighbour);
      if (!Float.isFinite(other)) {
        continue;
      }
      double otherErr = Math.abs(other - (double) x);
      assertTrue(err <= otherErr, x + " -> " + chosen + " but " + other + " is closer");
      if (err == otherErr) {
        assertEquals(0, bits & 1, "tie must round to even for " + x);
      }
    }
  }

  @Test
  void bf16IsTheUpperHalfOfFloat32() {
    assertEquals(1.0f, HalfFloats.bf16ToFloat(0x3F80));
    assertEquals(-2.0f, HalfFloats.bf16ToFloat(0xC000));
    assertEquals(0x3F80, HalfFloats.floatToBf16(1.00390625f) & 0xFFFF, "tie 1 + 2^-8 goes to even 1.0");
    assertEquals(0x3F82, HalfFloats.floatToBf16(1.01171875f) & 0xFFFF, "tie 1 + 3*2^-8 goes to even");
    assertTrue(Float.isNaN(HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(Float.NaN))));
    assertEquals(Float.POSITIVE_INFINITY, HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(Float.MAX_VALUE)));
  }
}
