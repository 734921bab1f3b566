package ai.cory.common.sampling;

import java.util.Objects;

/**
 * Per-row context of one batched generation, passed unchanged at every step. The arrays are
 * the caller's (not copied): the generation loop clears {@code active[b]} once row b has
 * emitted EOS, and the sampler then leaves that row alone.
 *
 * @param seed       seed of this generation (derive one per iteration and role with
 *                   {@link CounterRng#deriveSeed})
 * @param globalRows (B) index of each local row in the full, unsharded batch; the random draw
 *                   of a row depends only on (seed, global row, step), so any split of the
 *                   batch across workers samples the same tokens
 * @param active     (B) rows still generating
 * @param history    tokens each row already holds, for the repetition penalty
 */
public record SamplingBatch(long seed, long[] globalRows, boolean[] active, TokenHistory history) {

  public SamplingBatch {
    Objects.requireNonNull(globalRows, "globalRows");
    Objects.requireNonNull(active, "active");
    Objects.requireNonNull(history, "history");
    if (globalRows.length != active.length) {
      throw new IllegalArgumentException("sampling batch: " + globalRows.length
          + " global row indices but " + active.length + " active flags");
    }
  }

  /** Batch of {@code rows} rows, all active, with global indices {@code firstRow + b}. */
  public static SamplingBatch contiguous(long seed, long firstRow, int rows, TokenHistory history) {
    long[] global = new long[rows];
    boolean[] active = new boolean[rows];
    for (int b = 0; b < rows; b++) {
      global[b] = firstRow + b;
      active[b] = true;
    }
    return new SamplingBatch(seed, global, active, history);
  }

  /** Number of rows B. */
  public int rows() {
    return globalRows.length;
  }
}
