package ai.cory.driver.train;

import ai.cory.common.sampling.CounterRng;
import ai.cory.common.task.TaskPrompt;
import java.util.ArrayList;
import java.util.List;

/**
 * The queries of each iteration, like a shuffling data loader that drops the last incomplete
 * batch (TRL's dataloader): every epoch is a fresh permutation of the dataset drawn from
 * (run seed, epoch), cut into {@code N / B} batches. Iteration k takes batch {@code k mod (N / B)}
 * of epoch {@code k / (N / B)}: a pure function of (seed, k), so a resumed run sees the same
 * queries.
 */
public final class QueryBatches {
  private static final long EPOCH_STREAM = 0x45_50_4F_43L;

  private final List<TaskPrompt> dataset;
  private final int batchSize;
  private final long seed;
  private final int batchesPerEpoch;
  private int cachedEpoch = -1;
  private int[] cachedOrder;

  /**
   * @param dataset   every query (at least {@code batchSize})
   * @param batchSize B, queries per iteration
   * @param seed      the run seed
   */
  public QueryBatches(List<TaskPrompt> dataset, int batchSize, long seed) {
    if (batchSize < 1) {
      throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
    }
    if (dataset.size() < batchSize) {
      throw new IllegalArgumentException("the dataset has " + dataset.size() + " usable examples, fewer than "
          + "cory.ppo.batch-size = " + batchSize);
    }
    this.dataset = List.copyOf(dataset);
    this.batchSize = batchSize;
    this.seed = seed;
    this.batchesPerEpoch = dataset.size() / batchSize;
  }

  /** The B queries of iteration {@code k}. */
  public List<TaskPrompt> batch(long k) {
    int epoch = (int) (k / batchesPerEpoch);
    int within = (int) (k % batchesPerEpoch);
    int[] order = order(epoch);
    List<TaskPrompt> out = new ArrayList<>(batchSize);
    for (int j = 0; j < batchSize; j++) {
      out.add(dataset.get(order[within * batchSize + j]));
    }
    return out;
  }

  private int[] order(int epoch) {
    if (epoch != cachedEpoch) {
      long epochSeed = CounterRng.deriveSeed(CounterRng.deriveSeed(seed, EPOCH_STREAM), epoch);
      cachedOrder = CounterRng.permutation(dataset.size(), epochSeed);
      cachedEpoch = epoch;
    }
    return cachedOrder;
  }
}
