package ai.cory.common.model;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Splits element-wise kernels over rows across a small fixed pool. The calling thread runs the
 * first part itself, so {@code threads()} parts keep exactly that many cores busy; no nested
 * parallelism (OpenBLAS runs its own threads only inside GEMMs, which are called from one
 * thread). Oversubscribing the cores is the main performance trap on small hosts (STACK.md).
 *
 * <p>Thread count: system property {@code cory.threads}, else {@code OMP_NUM_THREADS}, else the
 * available processors.
 */
final class Parallel {
  /** Work of one part: rows {@code [from, to)}; {@code part} indexes per-part scratch. */
  @FunctionalInterface
  interface Body {
    void run(int part, int from, int to);
  }

  private static final int THREADS = resolveThreads();
  private static final ExecutorService POOL = THREADS > 1
      ? Executors.newFixedThreadPool(THREADS - 1, r -> {
        Thread t = new Thread(r, "cory-kernel");
        t.setDaemon(true);
        return t;
      })
      : null;

  private Parallel() {}

  /** Number of parts a region is split into at most (and per-part scratch slots needed). */
  static int threads() {
    return THREADS;
  }

  /** How many parts {@link #forRange} uses for these arguments (parts index scratch). */
  static int parts(int n, int minPerPart) {
    return Math.max(1, Math.min(THREADS, n / Math.max(1, minPerPart)));
  }

  /**
   * Runs {@code body} over {@code [0, n)} in at most {@link #threads()} contiguous parts of at
   * least {@code minPerPart} rows each (small problems stay on the calling thread).
   */
  static void forRange(int n, int minPerPart, Body body) {
    int parts = parts(n, minPerPart);
    if (parts == 1) {
      body.run(0, 0, n);
      return;
    }
    @SuppressWarnings("unchecked")
    Future<?>[] futures = new Future<?>[parts - 1];
    for (int p = 1; p < parts; p++) {
      final int part = p;
      final int from = (int) ((long) n * p / parts);
      final int to = (int) ((long) n * (p + 1) / parts);
      futures[p - 1] = POOL.submit(() -> body.run(part, from, to));
    }
    Throwable failure = null;
    try {
      body.run(0, 0, (int) ((long) n / parts));
    } catch (RuntimeException | Error e) {
      failure = e;
    }
    for (Future<?> f : futures) {
      try {
        f.get();
      } catch (ExecutionException e) {
        failure = failure == null ? e.getCause() : failure;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        failure = failure == null ? e : failure;
      }
    }
    if (failure instanceof RuntimeException re) {
      throw re;
    } else if (failure instanceof Error er) {
      throw er;
    } else if (failure != null) {
      throw new IllegalStateException("kernel part failed", failure);
    }
  }

  private static int resolveThreads() {
    String prop = System.getProperty("cory.threads");
    String env = System.getenv("OMP_NUM_THREADS");
    int n = Runtime.getRuntime().availableProcessors();
    try {
      if (prop != null) {
        n = Integer.parseInt(prop.trim());
      } else if (env != null && !env.isBlank()) {
        n = Integer.parseInt(env.trim());
      }
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("cory.threads / OMP_NUM_THREADS must be an integer, got "
          + (prop != null ? prop : env), e);
    }
    return Math.max(1, n);
  }
}
