package ai.cory.common.cuda;

import java.util.Locale;

/**
 * One GPU comparison: the kernel, its shape, the largest error against the float64 reference
 * (normalised by the reference's largest magnitude) and the tolerance it must stay within.
 */
public record CheckResult(String check, String shape, double error, double tolerance) {
  public boolean ok() {
    return error <= tolerance;
  }

  /** A JSON line, as the GPU check prints it. */
  public String json() {
    return String.format(Locale.ROOT,
        "{\"check\":\"%s\",\"shape\":\"%s\",\"error\":%.3e,\"tolerance\":%.1e,\"ok\":%b}",
        check, shape, error, tolerance, ok());
  }

  /** max |gpu - ref| / max(1e-30, max |ref|). */
  static double error(float[] gpu, double[] ref) {
    if (gpu.length != ref.length) {
      return Double.POSITIVE_INFINITY;
    }
    double worst = 0;
    double scale = 0;
    for (int i = 0; i < ref.length; i++) {
      double d = Math.abs(gpu[i] - ref[i]);
      if (!(d <= worst)) {
        worst = Double.isNaN(d) ? Double.POSITIVE_INFINITY : d;
      }
      scale = Math.max(scale, Math.abs(ref[i]));
    }
    return worst / Math.max(1e-30, scale);
  }

  /** 0 when the integer arrays are equal, else 1. */
  static double mismatch(int[] gpu, int[] ref) {
    return java.util.Arrays.equals(gpu, ref) ? 0 : 1;
  }
}
