package ai.cory.common.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The Vector API loops equal the scalar reference loops to ~1e-14 relative, on lengths that
 * exercise both the vector body and the scalar tail. Skipped when the JVM lacks
 * {@code --add-modules jdk.incubator.vector}.
 */
class VecMathTest {
  private static final double TOL = 1e-13;
  private final SplittableRandom rng = new SplittableRandom(3);

  private double[] random(int n, double scale) {
    double[] a = new double[n];
    for (int i = 0; i < n; i++) {
      a[i] = scale * rng.nextGaussian();
    }
    return a;
  }

  @Test
  void simdMatchesScalar() {
    assumeTrue(VecMath.SIMD, "JVM started without --add-modules jdk.incubator.vector");
    for (int n : new int[] {1, 7, 8, 29, 50257}) {
      double[] a = random(n, 4.0);
      double[] b = random(n, 1.0);
      assertEquals(VecMath.Scalar.max(a, 0, n), VecMathSimd.max(a, 0, n), 0.0, "max " + n);
      assertEquals(VecMath.Scalar.dot(a, 0, b, 0, n), VecMathSimd.dot(a, 0, b, 0, n),
          TOL * n, "dot " + n);
      double[] e1 = new double[n];
      double[] e2 = new double[n];
      double s1 = VecMath.Scalar.expShift(a, 0, e1, 0, n, 1.5);
      double s2 = VecMathSimd.expShift(a, 0, e2, 0, n, 1.5);
      assertEquals(s1, s2, TOL * s1, "expShift sum " + n);
      assertArrayClose(e1, e2, "expShift " + n);
      double[] g1 = a.clone();
      double[] g2 = a.clone();
      VecMath.Scalar.gelu(g1, n);
      VecMathSimd.gelu(g2, n);
      assertArrayClose(g1, g2, "gelu " + n);
      double[] d1 = b.clone();
      double[] d2 = b.clone();
      VecMath.Scalar.geluBackward(a, d1, n);
      VecMathSimd.geluBackward(a, d2, n);
      assertArrayClose(d1, d2, "gelu backward " + n);
      double[] y1 = b.clone();
      double[] y2 = b.clone();
      VecMath.Scalar.axpy(0.7, a, 0, y1, 0, n);
      VecMathSimd.axpy(0.7, a, 0, y2, 0, n);
      assertArrayClose(y1, y2, "axpy " + n);
      double[] s = a.clone();
      double[] sv = a.clone();
      VecMath.Scalar.scale(s, 0, n, -0.3);
      VecMathSimd.scale(sv, 0, n, -0.3);
      assertArrayClose(s, sv, "scale " + n);
    }
    for (int c : new int[] {5, 64, 771}) {
      double[] x = random(c, 2.0);
      double[] w = random(c, 1.0);
      double[] b = random(c, 1.0);
      double[] g = random(c, 1.0);
      double[] m1 = new double[1];
      double[] m2 = new double[1];
      double[] y1 = x.clone();
      double[] y2 = x.clone();
      double r1 = VecMath.Scalar.layerNormRow(y1, w, b, c, 1e-5, m1);
      double r2 = VecMathSimd.layerNormRow(y2, w, b, c, 1e-5, m2);
      assertEquals(r1, r2, TOL * r1, "LN rstd " + c);
      assertEquals(m1[0], m2[0], TOL, "LN mean " + c);
      assertArrayClose(y1, y2, "LN row " + c);
      double[][] s1 = {x.clone(), g.clone(), new double[c], new double[c]};
      double[][] s2 = {x.clone(), g.clone(), new double[c], new double[c]};
      VecMath.Scalar.layerNormBackwardRow(s1[0], s1[1], w, m1[0], r1, s1[2], s1[3], c);
      VecMathSimd.layerNormBackwardRow(s2[0], s2[1], w, m1[0], r1, s2[2], s2[3], c);
      for (int k = 0; k < 4; k++) {
        assertArrayClose(s1[k], s2[k], "LN backward " + c + " array " + k);
      }
      double[] z1 = x.clone();
      double[] z2 = x.clone();
      double q1 = VecMath.Scalar.rmsNormRow(z1, w, c, 1e-5);
      double q2 = VecMathSimd.rmsNormRow(z2, w, c, 1e-5);
      assertEquals(q1, q2, TOL * q1, "RMS rstd " + c);
      assertArrayClose(z1, z2, "RMS row " + c);
      double[][] t1 = {x.clone(), g.clone(), new double[c]};
      double[][] t2 = {x.clone(), g.clone(), new double[c]};
      VecMath.Scalar.rmsNormBackwardRow(t1[0], t1[1], w, q1, t1[2], c);
      VecMathSimd.rmsNormBackwardRow(t2[0], t2[1], w, q1, t2[2], c);
      for (int k = 0; k < 3; k++) {
        assertArrayClose(t1[k], t2[k], "RMS backward " + c + " array " + k);
      }
    }
    for (int inter : new int[] {3, 8, 172}) {
      double[] gu = random(2 * inter, 3.0);
      double[] d = random(inter, 1.0);
      double[] a1 = gu.clone();
      double[] a2 = gu.clone();
      VecMath.Scalar.swiglu(a1, inter);
      VecMathSimd.swiglu(a2, inter);
      assertArrayClose(a1, a2, "swiglu " + inter);
      double[] b1 = gu.clone();
      double[] b2 = gu.clone();
      VecMath.Scalar.swigluBackward(b1, d, inter);
      VecMathSimd.swigluBackward(b2, d, inter);
      assertArrayClose(b1, b2, "swiglu backward " + inter);
    }
  }

  private static void assertArrayClose(double[] ref, double[] actual, String what) {
    for (int i = 0; i < ref.length; i++) {
      assertEquals(ref[i], actual[i], TOL * Math.max(1.0, Math.abs(ref[i])), what + " [" + i + "]");
    }
  }
}
