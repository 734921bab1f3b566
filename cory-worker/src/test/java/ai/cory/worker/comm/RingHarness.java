package ai.cory.worker.comm;

import ai.cory.common.config.RuntimeSettings.Transport;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;

/** Runs W ranks of a ring as threads of this JVM, each with its own Aeron client. */
final class RingHarness {
  /**
   * Small terms keep the test's shared memory small; MTUs below the chunk size make every message
   * span several Aeron fragments, exercising reassembly-free reception.
   */
  static final ChannelTuning TEST_TUNING = new ChannelTuning(1 << 20, 4096, 1408, 0, 0);

  static final int TEST_CHUNK_BYTES = 16 * 1024;
  private static final AtomicInteger NEXT_STREAM_ID = new AtomicInteger(20_000);

  /** What one rank returned or threw, and how long it took. */
  record Outcome<T>(T value, Throwable error, long elapsedNs) {}

  /** The body one rank runs on its ring. */
  @FunctionalInterface
  interface RankBody<T> {
    T run(RingAllreduce ring) throws Exception;
  }

  private RingHarness() {}

  /** Fresh endpoints (new stream ids, new free ports) so tests never see each other's traffic. */
  static List<Endpoint> endpoints(Transport transport, int worldSize) {
    List<Endpoint> endpoints = new ArrayList<>();
    for (int r = 0; r < worldSize; r++) {
      int streamId = NEXT_STREAM_ID.getAndIncrement();
      endpoints.add(
          transport == Transport.IPC
              ? Endpoint.ipc(streamId)
              : Endpoint.freeLocalUdp("127.0.0.1", streamId));
    }
    return endpoints;
  }

  static RingConfig config(int rank, List<Endpoint> endpoints, long timeoutMs) {
    return new RingConfig(
        rank,
        endpoints,
        TEST_CHUNK_BYTES,
        TimeUnit.MILLISECONDS.toNanos(timeoutMs),
        IdleMode.BACKOFF,
        TEST_TUNING);
  }

  /** Runs every rank and rethrows the first failure. */
  static <T> List<T> runAll(
      String aeronDir, List<Endpoint> endpoints, long timeoutMs, RankBody<T> body)
      throws Exception {
    int[] ranks = new int[endpoints.size()];
    for (int r = 0; r < ranks.length; r++) {
      ranks[r] = r;
    }
    List<T> values = new ArrayList<>();
    for (Outcome<T> outcome : run(aeronDir, endpoints, ranks, timeoutMs, body)) {
      if (outcome.error() != null) {
        throw new AssertionError("a rank failed: " + outcome.error(), outcome.error());
      }
      values.add(outcome.value());
    }
    return values;
  }

  /** Runs only {@code ranks} (the others never show up) and reports each one's outcome. */
  static <T> List<Outcome<T>> run(
      String aeronDir, List<Endpoint> endpoints, int[] ranks, long timeoutMs, RankBody<T> body)
      throws InterruptedException {
    return run(aeronDir, ranks, rank -> config(rank, endpoints, timeoutMs), body);
  }

  /** Runs {@code ranks}, each with the configuration {@code configs} gives it. */
  static <T> List<Outcome<T>> run(
      String aeronDir, int[] ranks, IntFunction<RingConfig> configs, RankBody<T> body)
      throws InterruptedException {
    ExecutorService pool = Executors.newFixedThreadPool(ranks.length);
    try {
      List<Future<Outcome<T>>> futures = new ArrayList<>();
      for (int rank : ranks) {
        futures.add(
            pool.submit(
                () -> {
                  long startNs = System.nanoTime();
                  try (RingAllreduce ring = RingAllreduce.connect(aeronDir, configs.apply(rank))) {
                    return new Outcome<>(body.run(ring), null, System.nanoTime() - startNs);
                  } catch (Exception | AssertionError e) {
                    return new Outcome<T>(null, e, System.nanoTime() - startNs);
                  }
                }));
      }
      List<Outcome<T>> outcomes = new ArrayList<>();
      for (Future<Outcome<T>> future : futures) {
        try {
          outcomes.add(future.get());
        } catch (ExecutionException e) {
          throw new AssertionError(e.getCause());
        }
      }
      return outcomes;
    } finally {
      pool.shutdownNow();
    }
  }
}
