package ai.cory.worker.train;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The two collectives a data-parallel PPO step needs (ARCHITECTURE.md: synchronous gradient
 * averaging keeps every replica identical). Every batch-wide statistic of the step (advantage
 * whitening, score moments, loss sums, KL-controller input) goes through {@link #sum}; the
 * parameter gradients go through {@link #averageInPlace} once per optimizer step; the rows of a
 * batch reach every worker through {@link #allGather} when PPO minibatches cut across shards.
 * One worker uses {@link #single()}; the distributed runtime passes its Aeron allreduce.
 *
 * <p>Every worker must make the same calls in the same order with arrays of the same lengths.
 */
public interface Collective {

  /** Number of workers W sharing the batch. */
  int worldSize();

  /** This worker's rank, 0..W-1; rank r holds rows {@code [r B / W, (r + 1) B / W)} of the batch. */
  int rank();

  /**
   * Element-wise sum over workers of small statistics.
   *
   * @return a new array (or {@code values} itself on one worker), identical on every worker
   */
  double[] sum(double[] values);

  /**
   * Every worker's {@code values} (the same length n on each), concatenated in rank order:
   * element {@code r * n + i} is worker r's {@code values[i]}, exact and identical on every worker.
   *
   * @return a new array (or {@code values} itself on one worker)
   */
  double[] allGather(double[] values);

  /** Replaces every element of a flat buffer (the gradients) by its mean over workers. */
  void averageInPlace(INDArray flat);

  /** One worker holding the whole batch: both collectives are the identity. */
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
