package ai.cory.common.model;

/**
 * The few element-wise loops that dominate the non-GEMM time (exp over the vocabulary, tanh in
 * GELU, sigmoid in SiLU, dot products in cached attention), on heap {@code double[]} rows.
 * Scalar Java here; see {@code VecMathSimd} for the Vector API version used when the
 * {@code jdk.incubator.vector} module is present.
 */
final class VecMath {
  private static final double SQRT_2_OVER_PI = Math.sqrt(2.0 / Math.PI);
  private static final double GELU_C = 0.044715;

  private VecMath() {}

  /** Largest of {@code a[off .. off+n)}; -inf when n = 0. */
  static double max(double[] a, int off, int n) {
    double m = Double.NEGATIVE_INFINITY;
    for (int i = off; i < off + n; i++) {
      m = Math.max(m, a[i]);
    }
    return m;
  }

  /** {@code dst[i] = exp(src[i] - shift)} over n elements; returns their sum. */
  static double expShift(double[] src, int srcOff, double[] dst, int dstOff, int n,
      double shift) {
    double s = 0;
    for (int i = 0; i < n; i++) {
      double e = Math.exp(src[srcOff + i] - shift);
      dst[dstOff + i] = e;
      s += e;
    }
    return s;
  }

  /** Sum of {@code a[i] * b[i]}. */
  static double dot(double[] a, int aOff, double[] b, int bOff, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) {
      s += a[aOff + i] * b[bOff + i];
    }
    return s;
  }

  /** {@code y[i] += alpha * x[i]}. */
  static void axpy(double alpha, double[] x, int xOff, double[] y, int yOff, int n) {
    for (int i = 0; i < n; i++) {
      y[yOff + i] += alpha * x[xOff + i];
    }
  }

  /** In place {@code x = gelu_new(x)}. */
  static void gelu(double[] x, int n) {
    for (int i = 0; i < n; i++) {
      double v = x[i];
      double t = tanh(SQRT_2_OVER_PI * (v + GELU_C * v * v * v));
      x[i] = 0.5 * v * (1 + t);
    }
  }

  /** In place {@code g = g * gelu_new'(x)}. */
  static void geluBackward(double[] x, double[] g, int n) {
    for (int i = 0; i < n; i++) {
      double v = x[i];
      double t = tanh(SQRT_2_OVER_PI * (v + GELU_C * v * v * v));
      double du = SQRT_2_OVER_PI * (1 + 3 * GELU_C * v * v);
      g[i] *= 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * du;
    }
  }

  /** In place on a row {@code gate | up} of 2I: first I entries become silu(gate) * up. */
  static void swiglu(double[] gu, int inter) {
    for (int i = 0; i < inter; i++) {
      double g = gu[i];
      gu[i] = g / (1 + Math.exp(-g)) * gu[inter + i];
    }
  }

  /** Row {@code gate | up} (2I) and {@code d} (I) -> row becomes dgate | dup. */
  static void swigluBackward(double[] gu, double[] d, int inter) {
    for (int i = 0; i < inter; i++) {
      double g = gu[i];
      double u = gu[inter + i];
      double s = 1 / (1 + Math.exp(-g));
      double silu = g * s;
      gu[i] = d[i] * u * s * (1 + g * (1 - s));
      gu[inter + i] = d[i] * silu;
    }
  }

  /** tanh through exp (intrinsic) instead of StrictMath's slow tanh; abs error ~1e-16. */
  static double tanh(double u) {
    if (u > 20) {
      return 1.0;
    } else if (u < -20) {
      return -1.0;
    }
    return 1.0 - 2.0 / (Math.exp(2 * u) + 1.0);
  }
}
