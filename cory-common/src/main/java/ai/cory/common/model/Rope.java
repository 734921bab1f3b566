package ai.cory.common.model;

/**
 * Rotary position embedding in Hugging Face's {@code rotate_half} convention (Llama): within a
 * head of size D, feature i pairs with i + D/2 and both rotate by angle
 * {@code pos * theta^(-2i/D)}: {@code y_i = x_i cos - x_{i+D/2} sin},
 * {@code y_{i+D/2} = x_{i+D/2} cos + x_i sin}. The backward is the inverse rotation. Angles are
 * tabulated once in double (HF builds them in float32; the goldens in float64).
 */
final class Rope {
  private static final int MIN_ROWS_PER_PART = 32;

  private final int headDim;
  private final int half;
  private final double[] cos; // (maxPositions, D/2)
  private final double[] sin; // (maxPositions, D/2)

  Rope(int maxPositions, int headDim, double theta) {
    if (headDim % 2 != 0) {
      throw new IllegalArgumentException("RoPE needs an even head size, got " + headDim);
    }
    this.headDim = headDim;
    this.half = headDim / 2;
    this.cos = new double[maxPositions * half];
    this.sin = new double[maxPositions * half];
    for (int p = 0; p < maxPositions; p++) {
      for (int i = 0; i < half; i++) {
        double invFreq = 1.0 / Math.pow(theta, (2.0 * i) / headDim);
        double angle = p * invFreq;
        cos[p * half + i] = Math.cos(angle);
        sin[p * half + i] = Math.sin(angle);
      }
    }
  }

  int headDim() {
    return headDim;
  }

  /** The (maxPositions, D/2) cosine table rounded to float (what the device kernel reads). */
  float[] cosFloats() {
    return floats(cos);
  }

  /** The (maxPositions, D/2) sine table rounded to float. */
  float[] sinFloats() {
    return floats(sin);
  }

  private static float[] floats(double[] d) {
    float[] f = new float[d.length];
    for (int i = 0; i < d.length; i++) {
      f[i] = (float) d[i];
    }
    return f;
  }

  /**
   * Rotates in place the heads {@code [0, heads)} that start at column {@code col0} of each row
   * of {@code x} (N, width), row r at position {@code positions[r]}; {@code inverse} rotates
   * back (the backward pass).
   */
  void apply(Span x, int n, int width, int col0, int heads, int[] positions, boolean inverse,
      Scratch scratch) {
    int span = heads * headDim;
    double sign = inverse ? -1.0 : 1.0;
    Parallel.forRange(n, MIN_ROWS_PER_PART, (part, from, to) -> {
      double[] row = scratch.row(part, 0, span);
      for (int r = from; r < to; r++) {
        long at = (long) r * width + col0;
        x.read(at, row, 0, span);
        int t = positions[r] * half;
        for (int h = 0; h < heads; h++) {
          int o = h * headDim;
          for (int i = 0; i < half; i++) {
            double c = cos[t + i];
            double s = sign * sin[t + i];
            double a = row[o + i];
            double b = row[o + half + i];
            row[o + i] = a * c - b * s;
            row[o + half + i] = b * c + a * s;
          }
        }
        x.write(at, row, 0, span);
      }
    });
  }
}
