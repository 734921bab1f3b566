package ai.cory.common.cuda;

import java.util.SplittableRandom;

/** Inputs and outputs of the GPU comparisons: random host arrays and their device copies. */
final class DeviceScratch {
  static final int THREADS = 256;

  final DeviceOps ops;
  final DeviceArena arena;
  final SplittableRandom rnd;

  DeviceScratch(DeviceOps ops, DeviceArena arena, long seed) {
    this.ops = ops;
    this.arena = arena;
    this.rnd = new SplittableRandom(seed);
  }

  /** n uniforms in [-scale, scale). */
  float[] rand(int n, double scale) {
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      x[i] = (float) ((2 * rnd.nextDouble() - 1) * scale);
    }
    return x;
  }

  long put(float[] x) {
    long p = arena.floats(Math.max(1, x.length));
    ops.upload(p, x);
    return p;
  }

  long put(int[] x) {
    long p = arena.alloc(4L * Math.max(1, x.length));
    ops.upload(p, x);
    return p;
  }

  long put(double[] x) {
    long p = arena.alloc(8L * Math.max(1, x.length));
    ops.upload(p, x);
    return p;
  }

  long put(byte[] x) {
    long p = arena.alloc(Math.max(1, x.length));
    ops.upload(p, x);
    return p;
  }

  long zeros(long floats) {
    long p = arena.floats(Math.max(1, floats));
    ops.zero(p, 4 * Math.max(1, floats));
    return p;
  }

  float[] get(long p, int n) {
    ops.synchronize();
    return ops.downloadFloats(p, n);
  }

  int[] getInts(long p, int n) {
    ops.synchronize();
    return ops.downloadInts(p, n);
  }

  /** A 1-D grid covering n elements (grid-stride kernels), at most 65535 blocks. */
  static int[] grid(long n) {
    return new int[] {(int) Math.max(1, Math.min(65535, (n + THREADS - 1) / THREADS))};
  }

  static double[] widen(float[] x) {
    double[] d = new double[x.length];
    for (int i = 0; i < x.length; i++) {
      d[i] = x[i];
    }
    return d;
  }
}
