package ai.cory.worker.comm;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Collectives among the W data-parallel workers that hold identical model replicas.
 *
 * <p>Every rank must make the same sequence of calls with arguments of the same sizes; results are
 * bit-identical on every rank, so replicas updated from them stay identical. An instance is used by
 * one thread at a time. After any exception the instance is broken and must be closed and rebuilt.
 */
public interface Allreduce extends AutoCloseable {

  /** This worker's rank, 0..worldSize-1. */
  int rank();

  /** Number of workers W. */
  int worldSize();

  /**
   * Replaces every element by the mean over ranks, computed as the float sum in a fixed order
   * divided by W, bit-identical on every rank.
   *
   * @param flatFloatBuffer a dense FLOAT array of the same length on every rank (e.g. a flat
   *     gradient buffer), read and written in place
   */
  void averageInPlace(INDArray flatFloatBuffer);

  /**
   * Element-wise sum over ranks of small statistics (sums, counts, moments).
   *
   * @param values this rank's values; the same length on every rank
   * @return the correctly rounded exact sums, identical on every rank (independent of rank order);
   *     NaN or infinite inputs give the plain double sum in rank order
   */
  double[] sum(double[] values);

  /**
   * Every rank's values, concatenated in rank order: {@code out[r * n + i]} is rank r's
   * {@code values[i]}. Exact (nothing is added), identical on every rank.
   *
   * @param values this rank's values; the same length n on every rank
   */
  double[] allGather(double[] values);

  /** {@link #allGather(double[])} that gives up after {@code timeoutNs} instead of the configured timeout. */
  double[] allGather(double[] values, long timeoutNs);

  /** Returns only once every rank has entered the barrier. */
  void barrier();

  /** Releases publications, subscriptions and any client this instance owns. Idempotent. */
  @Override
  void close();
}
