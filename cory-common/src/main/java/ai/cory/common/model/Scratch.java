package ai.cory.common.model;

/**
 * Heap rows for element-wise kernels, one set per {@link Parallel} part so parts never share an
 * array. Arrays grow to the largest size asked for and are then reused: after the first call of
 * a given shape no kernel allocates.
 */
final class Scratch {
  private final double[][][] rows; // [part][slot] -> row

  Scratch(int slots) {
    rows = new double[Parallel.threads()][slots][];
    for (double[][] part : rows) {
      for (int s = 0; s < slots; s++) {
        part[s] = new double[0];
      }
    }
  }

  /** A row of at least {@code size} doubles for {@code part}, slot {@code slot}; contents stale. */
  double[] row(int part, int slot, int size) {
    double[] r = rows[part][slot];
    if (r.length < size) {
      r = new double[size];
      rows[part][slot] = r;
    }
    return r;
  }
}
