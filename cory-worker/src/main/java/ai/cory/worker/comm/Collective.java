package ai.cory.worker.comm;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The collectives among the W data-parallel workers that hold identical model replicas: the one
 * interface the trainer, the PPO step and the ring share (ARCHITECTURE.md: synchronous gradient
 * averaging keeps every replica identical). Every batch-wide statistic of a PPO step (advantage
 * whitening, score moments, loss sums, KL-controller input) goes through {@link #sum}; the flat
 * gradient buffer goes through {@link #averageInPlace} once per optimizer step; the rows of a
 * batch reach every worker through {@link #allGather} when PPO minibatches cut across shards.
 *
 * <p>Implementations: {@link #single()} (one worker holding the whole batch), {@link
 * RingAllreduce} (one Aeron ring) and {@link RingMembership} (a replica's current ring, rebuilt
 * when the stage's workers change, and what executors hand the trainer).
 *
 * <p>Every rank must make the same calls in the same order with arrays of the same lengths;
 * results are bit-identical on every rank, so replicas updated from them stay identical. An
 * instance is used by one thread at a time.
 */
public interface Collective {

  /** Number of workers W sharing the batch. */
  int worldSize();

  /** This worker's rank, 0..W-1; rank r holds rows {@code [r B / W, (r + 1) B / W)} of the batch. */
  int rank();

  /**
   * Element-wise sum over workers of small statistics (sums, counts, moments).
   *
   * @param values this rank's values; the same length on every rank
   * @return the correctly rounded exact sums, identical on every rank (independent of rank
   *     order); NaN or infinite inputs give the plain double sum in rank order. A new array, or
   *     {@code values} itself on one worker
   */
  double[] sum(double[] values);

  /**
   * Every worker's {@code values} (the same length n on each), concatenated in rank order:
   * element {@code r * n + i} is worker r's {@code values[i]}, exact (nothing is added) and
   * identical on every worker.
   *
   * @return a new array, or {@code values} itself on one worker
   */
  double[] allGather(double[] values);

  /**
   * Replaces every element of a dense FLOAT buffer of the same length on every rank (the flat
   * gradients) by its mean over workers: the float sum in a fixed order divided by W,
   * bit-identical on every rank.
   */
  void averageInPlace(INDArray flat);

  /**
   * Nanoseconds this worker spent inside collectives since the previous call (the
   * {@code time/sync} metric), and restarts the count. Implementations that do not time
   * themselves return 0.
   */
  default long takeElapsedNs() {
    return 0;
  }

  /** One worker holding the whole batch: every collective is the identity. */
  static Collective single() {
    return SingleWorker.INSTANCE;
  }

  /** The identity collective. */
  enum SingleWorker implements Collective {
    INSTANCE;

    @Override
    public int worldSize() {
      return 1;
    }

    @Override
    public int rank() {
      return 0;
    }

    @Override
    public double[] sum(double[] values) {
      return values;
    }

    @Override
    public double[] allGather(double[] values) {
      return values;
    }

    @Override
    public void averageInPlace(INDArray flat) {
      // one worker: the mean over one replica is the buffer itself
    }
  }
}
