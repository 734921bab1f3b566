package ai.cory.worker.comm;

import java.util.concurrent.TimeUnit;
import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.BusySpinIdleStrategy;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.YieldingIdleStrategy;

/**
 * What a rank's thread does while a collective waits on its neighbours.
 *
 * <p>{@link #BACKOFF} is the safe default when ranks share cores with each other, the media driver
 * or model compute; {@link #SPIN} gives the lowest latency only with a core per rank.
 */
public enum IdleMode {
  /** Busy spin: a whole core per waiting rank. */
  SPIN,
  /** {@code Thread.yield()} between polls. */
  YIELD,
  /** Spin, then yield, then park from 1 us doubling up to 100 us (Agrona's backoff). */
  BACKOFF;

  /** Upper bound on one park in {@link #BACKOFF}: bounds the latency added per idle wait. */
  static final long BACKOFF_MAX_PARK_NS = TimeUnit.MICROSECONDS.toNanos(100);

  /** A fresh strategy instance; strategies keep state, so one per waiting thread. */
  public IdleStrategy newIdleStrategy() {
    return switch (this) {
      case SPIN -> new BusySpinIdleStrategy();
      case YIELD -> new YieldingIdleStrategy();
      case BACKOFF ->
          new BackoffIdleStrategy(100, 50, TimeUnit.MICROSECONDS.toNanos(1), BACKOFF_MAX_PARK_NS);
    };
  }
}
