package ai.cory.common.sampling;

/**
 * Counter-based random numbers: a uniform is a pure function of (seed, row, step), so the
 * draw of a row never depends on which other rows share its batch, on the worker it runs on
 * or on thread timing.
 *
 * <p>Construction (SplitMix64, Steele, Lea and Flood, "Fast splittable pseudorandom number
 * generators", OOPSLA 2014; {@code mix64} is its output function, Stafford's "variant 13"):
 * <pre>
 *   rowKey(seed, row)   = mix64(mix64(seed)   + (row  + 1) * GAMMA)
 *   bits(seed, row, t)  = mix64(mix64(rowKey) + (t    + 1) * GAMMA)
 *   uniform             = (bits >>> 11) * 2^-53            in [0, 1)
 * </pre>
 * i.e. output number row+1 of a SplitMix64 generator seeded with {@code mix64(seed)} seeds a
 * second SplitMix64 generator per row, whose output number t+1 is the draw of step t. For a
 * fixed row key the map t -> bits is a bijection (Weyl increment, odd GAMMA, bijective mix),
 * so a row's stream never repeats within 2^64 steps.
 */
public final class CounterRng {
  /** 2^64 / golden ratio, odd: the SplitMix64 Weyl increment. */
  private static final long GAMMA = 0x9E3779B97F4A7C15L;

  private CounterRng() {}

  /** Key of one row's stream: a seed plus a salt (row, iteration, agent ...). */
  public static long deriveSeed(long seed, long salt) {
    return mix64(mix64(seed) + (salt + 1) * GAMMA);
  }

  /** 64 random bits of (seed, row, step). */
  public static long bits(long seed, long row, long step) {
    return mix64(mix64(deriveSeed(seed, row)) + (step + 1) * GAMMA);
  }

  /** Uniform double in [0, 1) with 53 random bits, a function of (seed, row, step) only. */
  public static double uniform(long seed, long row, long step) {
    return (bits(seed, row, step) >>> 11) * 0x1.0p-53;
  }

  /**
   * A uniformly random permutation of {@code 0..n-1}, a pure function of (seed, n): Fisher-Yates
   * where position i swaps with {@code floor(uniform(seed, i, 0) * (i + 1))}. Used for the query
   * order of a data epoch and for PPO's minibatch shuffles.
   */
  public static int[] permutation(int n, long seed) {
    int[] p = new int[n];
    for (int i = 0; i < n; i++) {
      p[i] = i;
    }
    for (int i = n - 1; i > 0; i--) {
      int k = (int) Math.floor(uniform(seed, i, 0) * (i + 1));
      int tmp = p[i];
      p[i] = p[k];
      p[k] = tmp;
    }
    return p;
  }

  /** SplitMix64's finaliser (java.util.SplittableRandom.mix64). */
  static long mix64(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
