package ai.cory.worker.train;

import java.util.Objects;
import java.util.function.Supplier;
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
  public double[] sum(double[] values) {
    return timed(() -> inner.sum(values));
  }

  @Override
  public double[] allGather(double[] values) {
    return timed(() -> inner.allGather(values));
  }

  @Override
  public void averageInPlace(INDArray flat) {
    timed(() -> {
      inner.averageInPlace(flat);
      return null;
    });
  }

  private <T> T timed(Supplier<T> collective) {
    long t0 = System.nanoTime();
    try {
      return collective.get();
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
