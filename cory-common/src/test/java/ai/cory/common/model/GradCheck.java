package ai.cory.common.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Central finite differences in double precision against an analytic gradient: perturbs
 * elements of a span by +-h, re-evaluates the scalar loss and compares
 * {@code (L(x+h) - L(x-h)) / 2h} with the analytic value. The error is the relative L2 error over
 * the checked elements, {@code ||a - n|| / max(||n||, ||a||)}.
 */
final class GradCheck {
  static final double H = 1e-5;

  private GradCheck() {}

  /** A DOUBLE span of n elements filled with N(0, scale). */
  static Span randomSpan(long n, double scale, SplittableRandom rng) {
    Span s = Span.of(Nd4j.create(DataType.DOUBLE, Math.max(1, n)));
    for (long i = 0; i < n; i++) {
      s.set(i, scale * rng.nextGaussian());
    }
    return s;
  }

  /** A zero DOUBLE span of n elements. */
  static Span zeros(long n) {
    return Span.of(Nd4j.create(DataType.DOUBLE, Math.max(1, n)));
  }

  /** sum_i a[i] * b[i] over n elements. */
  static double dot(Span a, Span b, long n) {
    double s = 0;
    for (long i = 0; i < n; i++) {
      s += a.get(i) * b.get(i);
    }
    return s;
  }

  /**
   * Relative error between {@code analytic} and the central difference of {@code loss} w.r.t.
   * {@code x}, over all elements (or {@code maxChecks} random ones when x is larger).
   */
  static double relativeError(Span x, Span analytic, long n, DoubleSupplier loss, int maxChecks,
      SplittableRandom rng) {
    double diff2 = 0;
    double num2 = 0;
    double ana2 = 0;
    boolean all = n <= maxChecks;
    long count = all ? n : maxChecks;
    for (long k = 0; k < count; k++) {
      long i = all ? k : rng.nextLong(n);
      double orig = x.get(i);
      x.set(i, orig + H);
      double up = loss.getAsDouble();
      x.set(i, orig - H);
      double down = loss.getAsDouble();
      x.set(i, orig);
      double numeric = (up - down) / (2 * H);
      double a = analytic.get(i);
      diff2 += (a - numeric) * (a - numeric);
      num2 += numeric * numeric;
      ana2 += a * a;
    }
    double scale = Math.sqrt(Math.max(num2, ana2));
    return scale == 0 ? 0 : Math.sqrt(diff2) / scale;
  }

  /** Asserts a relative error and that the checked gradient is not trivially zero. */
  static void assertClose(String what, double relError, double tolerance, Span analytic, long n) {
    double norm = 0;
    for (long i = 0; i < n; i++) {
      norm += analytic.get(i) * analytic.get(i);
    }
    assertTrue(norm > 0, what + ": analytic gradient is all zero (test would be vacuous)");
    assertTrue(relError <= tolerance,
        what + ": relative error " + relError + " > " + tolerance);
  }
}
