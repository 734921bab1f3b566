package ai.cory.worker.spark;

import ai.cory.worker.comm.Allreduce;
import ai.cory.worker.train.Collective;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The trainer's {@link Collective} over this replica's current Aeron ring. A replica outlives
 * any one ring (a ring is rebuilt when the stage's workers change), so the trainer holds this
 * adapter and the replica {@link #bind binds} the ring of the running task into it.
 */
final class RingCollective implements Collective {
  private final int worldSize;
  private Allreduce ring;

  RingCollective(int worldSize) {
    if (worldSize < 1) {
      throw new IllegalArgumentException("worldSize must be >= 1, got " + worldSize);
    }
    this.worldSize = worldSize;
  }

  /** Routes the collectives to {@code ring} (null: none bound; calls then fail). */
  void bind(Allreduce ring) {
    if (ring != null && ring.worldSize() != worldSize) {
      throw new IllegalArgumentException("ring of " + ring.worldSize() + " workers bound to a trainer built for "
          + worldSize);
    }
    this.ring = ring;
  }

  @Override
  public int worldSize() {
    return worldSize;
  }

  @Override
  public int rank() {
    return bound().rank();
  }

  @Override
  public double[] sum(double[] values) {
    return bound().sum(values);
  }

  @Override
  public double[] allGather(double[] values) {
    return bound().allGather(values);
  }

  @Override
  public void averageInPlace(INDArray flat) {
    bound().averageInPlace(flat);
  }

  private Allreduce bound() {
    if (ring == null) {
      throw new IllegalStateException("no allreduce ring bound: collectives run only inside an iteration task");
    }
    return ring;
  }
}
