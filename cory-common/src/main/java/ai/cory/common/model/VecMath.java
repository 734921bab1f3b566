package ai.cory.common.model;

/**
 * The few element-wise loops that dominate the non-GEMM time (exp over the vocabulary, tanh in
 * GELU, sigmoid in SiLU, row dot products), on heap {@code double[]} rows. Each method runs the
 * Vector API version ({@link VecMathSimd}) when the JVM was started with
 * {@code --add-modules jdk.incubator.vector}, else the plain loop of {@link Scalar} (same
 * results to rounding; 5-30x slower on these loops).
 */
final class VecMath {
  /** True when the Vector API is available (decided once; the JIT folds the branches). */
  static final boolean SIMD = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()
      && !Boolean.getBoolean("cory.noSimd");

  private VecMath() {}

  /** Largest of {@code a[off .. off+n)}; -inf when n = 0. */
  static double max(double[] a, int off, int n) {
    return SIMD ? VecMathSimd.max(a, off, n) : Scalar.max(a, off, n);
  }

  /** {@code dst[i] = exp(src[i] - shift)} over n elements; returns their sum. */
  static double expShift(double[] src, int srcOff, double[] dst, int dstOff, int n,
      double shift) {
    return SIMD ? VecMathSimd.expShift(src, srcOff, dst, dstOff, n, shift)
        : Scalar.expShift(src, srcOff, dst, dstOff, n, shift);
  }

  /** Sum of {@code a[i] * b[i]}. */
  static double dot(double[] a, int aOff, double[] b, int bOff, int n) {
    return SIMD ? VecMathSimd.dot(a, aOff, b, bOff, n) : Scalar.dot(a, aOff, b, bOff, n);
  }

  /** {@code y[i] += alpha * x[i]}. */
  static void axpy(double alpha, double[] x, int xOff, double[] y, int yOff, int n) {
    if (SIMD) {
      VecMathSimd.axpy(alpha, x, xOff, y, yOff, n);
    } else {
      Scalar.axpy(alpha, x, xOff, y, yOff, n);
    }
  }

  /** {@code a[i] *= alpha}. */
  static void scale(double[] a, int off, int n, double alpha) {
    if (SIMD) {
      VecMathSimd.scale(a, off, n, alpha);
    } else {
      Scalar.scale(a, off, n, alpha);
    }
  }

  /** In place {@code x = gelu_new(x)}. */
  static void gelu(double[] x, int n) {
    if (SIMD) {
      VecMathSimd.gelu(x, n);
    } else {
      Scalar.gelu(x, n);
    }
  }

  /** In place {@code g = g * gelu_new'(x)}. */
  static void geluBackward(double[] x, double[] g, int n) {
    if (SIMD) {
      VecMathSimd.geluBackward(x, g, n);
    } else {
      Scalar.geluBackward(x, g, n);
    }
  }

  /** In place on a row {@code gate | up} of 2I: the first I entries become silu(gate) * up. */
  static void swiglu(double[] gu, int inter) {
    if (SIMD) {
      VecMathSimd.swiglu(gu, inter);
    } else {
      Scalar.swiglu(gu, inter);
    }
  }

  /** Row {@code gate | up} (2I) and upstream {@code d} (I): the row becomes dgate | dup. */
  static void swigluBackward(double[] gu, double[] d, int inter) {
    if (SIMD) {
      VecMathSimd.swigluBackward(gu, d, inter);
    } else {
      Scalar.swigluBackward(gu, d, inter);
    }
  }

  /**
   * LayerNorm of one row in place: {@code x = (x - mean) rstd w + b}; returns rstd and stores
   * the mean in {@code mean[0]}.
   */
  static double layerNormRow(double[] x, double[] w, double[] b, int c, double eps,
      double[] mean) {
    return SIMD ? VecMathSimd.layerNormRow(x, w, b, c, eps, mean)
        : Scalar.layerNormRow(x, w, b, c, eps, mean);
  }

  /**
   * LayerNorm backward of one row: {@code x} holds the forward input (destroyed), {@code g} the
   * upstream gradient and on return dx; {@code dw += dy * n}, {@code db += dy}.
   */
  static void layerNormBackwardRow(double[] x, double[] g, double[] w, double mean, double rstd,
      double[] dw, double[] db, int c) {
    if (SIMD) {
      VecMathSimd.layerNormBackwardRow(x, g, w, mean, rstd, dw, db, c);
    } else {
      Scalar.layerNormBackwardRow(x, g, w, mean, rstd, dw, db, c);
    }
  }

  /** RMSNorm of one row in place: {@code x = x rstd w}; returns rstd. */
  static double rmsNormRow(double[] x, double[] w, int c, double eps) {
    return SIMD ? VecMathSimd.rmsNormRow(x, w, c, eps) : Scalar.rmsNormRow(x, w, c, eps);
  }

  /**
   * RMSNorm backward of one row: {@code x} forward input (destroyed), {@code g} upstream
   * gradient, on return dx; {@code dw += dy * x * rstd}.
   */
  static void rmsNormBackwardRow(double[] x, double[] g, double[] w, double rstd, double[] dw,
      int c) {
    if (SIMD) {
      VecMathSimd.rmsNormBackwardRow(x, g, w, rstd, dw, c);
    } else {
      Scalar.rmsNormBackwardRow(x, g, w, rstd, dw, c);
    }
  }

  /** Plain-Java versions (the reference for {@link VecMathSimd}). */
  static final class Scalar {
    private static final double SQRT_2_OVER_PI = Math.sqrt(2.0 / Math.PI);
    private static final double GELU_C = 0.044715;

    private Scalar() {}

    static double max(double[] a, int off, int n) {
      double m = Double.NEGATIVE_INFINITY;
      for (int i = off; i < off + n; i++) {
        m = Math.max(m, a[i]);
      }
      return m;
    }

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

    static double dot(double[] a, int aOff, double[] b, int bOff, int n) {
      double s = 0;
      for (int i = 0; i < n; i++) {
        s += a[aOff + i] * b[bOff + i];
      }
      return s;
    }

    static void axpy(double alpha, double[] x, int xOff, double[] y, int yOff, int n) {
      for (int i = 0; i < n; i++) {
        y[yOff + i] += alpha * x[xOff + i];
      }
    }

    static void scale(double[] a, int off, int n, double alpha) {
      for (int i = off; i < off + n; i++) {
        a[i] *= alpha;
      }
    }

    static void gelu(double[] x, int n) {
      for (int i = 0; i < n; i++) {
        double v = x[i];
        double t = tanh(SQRT_2_OVER_PI * (v + GELU_C * v * v * v));
        x[i] = 0.5 * v * (1 + t);
      }
    }

    static void geluBackward(double[] x, double[] g, int n) {
      for (int i = 0; i < n; i++) {
        double v = x[i];
        double t = tanh(SQRT_2_OVER_PI * (v + GELU_C * v * v * v));
        double du = SQRT_2_OVER_PI * (1 + 3 * GELU_C * v * v);
        g[i] *= 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * du;
      }
    }

    static void swiglu(double[] gu, int inter) {
      for (int i = 0; i < inter; i++) {
        double g = gu[i];
        gu[i] = g / (1 + Math.exp(-g)) * gu[inter + i];
      }
    }

    static void swigluBackward(double[] gu, double[] d, int inter) {
      for (int i = 0; i < inter; i++) {
        double g = gu[i];
        double u = gu[inter + i];
        double s = 1 / (1 + Math.exp(-g));
        gu[i] = d[i] * u * s * (1 + g * (1 - s));
        gu[inter + i] = d[i] * g * s;
      }
    }

    static double layerNormRow(double[] x, double[] w, double[] b, int c, double eps,
        double[] mean) {
      double m = 0;
      for (int i = 0; i < c; i++) {
        m += x[i];
      }
      m /= c;
      double v = 0;
      for (int i = 0; i < c; i++) {
        x[i] -= m;
        v += x[i] * x[i];
      }
      double rs = 1.0 / Math.sqrt(v / c + eps);
      for (int i = 0; i < c; i++) {
        x[i] = x[i] * rs * w[i] + b[i];
      }
      mean[0] = m;
      return rs;
    }

    static void layerNormBackwardRow(double[] x, double[] g, double[] w, double mean,
        double rstd, double[] dw, double[] db, int c) {
      double gMean = 0;
      double gnMean = 0;
      for (int i = 0; i < c; i++) {
        double nrm = (x[i] - mean) * rstd;
        double dy = g[i];
        dw[i] += dy * nrm;
        db[i] += dy;
        double gw = dy * w[i];
        gMean += gw;
        gnMean += gw * nrm;
        x[i] = nrm;
        g[i] = gw;
      }
      gMean /= c;
      gnMean /= c;
      for (int i = 0; i < c; i++) {
        g[i] = rstd * (g[i] - gMean - x[i] * gnMean);
      }
    }

    static double rmsNormRow(double[] x, double[] w, int c, double eps) {
      double ss = 0;
      for (int i = 0; i < c; i++) {
        ss += x[i] * x[i];
      }
      double rs = 1.0 / Math.sqrt(ss / c + eps);
      for (int i = 0; i < c; i++) {
        x[i] = w[i] * (x[i] * rs);
      }
      return rs;
    }

    static void rmsNormBackwardRow(double[] x, double[] g, double[] w, double rstd, double[] dw,
        int c) {
      double gnMean = 0;
      for (int i = 0; i < c; i++) {
        double nrm = x[i] * rstd;
        dw[i] += g[i] * nrm;
        double gw = g[i] * w[i];
        gnMean += gw * nrm;
        x[i] = nrm;
        g[i] = gw;
      }
      gnMean /= c;
      for (int i = 0; i < c; i++) {
        g[i] = rstd * (g[i] - x[i] * gnMean);
      }
    }

    /** tanh through exp (a JIT intrinsic) instead of StrictMath's slow tanh; abs error ~1e-16. */
    static double tanh(double u) {
      if (u > 20) {
        return 1.0;
      } else if (u < -20) {
        return -1.0;
      }
      return 1.0 - 2.0 / (Math.exp(2 * u) + 1.0);
    }
  }
}
