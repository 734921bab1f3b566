package ai.cory.worker.train;

import java.util.Objects;
import org.nd4j.linalg.api.ndarray.INDArray;

/** A {@link Collective} that adds up the wall time spent inside it ({@code time/sync}). */
final class TimedCollective implements Collective {
  private final Collective inner;
  private long elapsedNs;

  TimedCollective(Collective inner) {
    this.inner = Objects.requireNonNull(inner, "inner");
  }

  @Override
  public int worldSize() {
    return inner.worldSize();
  }

  @Override
  public int rank() {
    return inner.rank();
  }

  @Override
  public double[] allGather(double[] values) {
    long t0 = System.nanoTime();
    try {
      return inner.allGather(values);
    } finally {
      elapsedNs += System.nanoTime() - t0;
    }
  }

  @Override
  public double[] sum(double[] values) {
    long t0 = System.nanoTime();
    try {
      return inner.sum(values);
    } finally {
      elapsedNs += System.nanoTime() - t0;
    }
  }

  @Override
  public void averageInPlace(INDArray flat) {
    long t0 = System.nanoTime();
    try {
      inner.averageInPlace(flat);
    } finally {
      elapsedNs += System.nanoTime() - t0;
    }
  }

  /** Nanoseconds spent in collectives since the last call, and restarts the count. */
  long takeElapsedNs() {
    long t = elapsedNs;
    elapsedNs = 0;
    return t;
  }
}
