package ai.cory.driver.bench;

import ai.cory.common.config.RuntimeSettings.Transport;
import ai.cory.worker.comm.ChannelTuning;
import ai.cory.worker.comm.Endpoint;
import ai.cory.worker.comm.IdleMode;
import ai.cory.worker.comm.MediaDriverHolder;
import ai.cory.worker.comm.MediaDriverSettings;
import ai.cory.worker.comm.RingAllreduce;
import ai.cory.worker.comm.RingConfig;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Measures {@link RingAllreduce} with W workers as threads of this JVM, each with its own Aeron
 * client on one shared embedded media driver, and prints one JSON object per line:
 *
 * <ul>
 *   <li>{@code "bench":"config"}: the settings and the host's core count;
 *   <li>{@code "bench":"memcpy"}: a plain copy of the same bytes (direct buffer and
 *       System.arraycopy), the ceiling for any data movement on this host;
 *   <li>{@code "bench":"allreduce"}: averageInPlace of a float buffer: median seconds, algorithm
 *       bandwidth (bytes / time) and bus bandwidth (2(W-1)/W * bytes / time, what each rank
 *       actually sends; comparable across W, as in nccl-tests);
 *   <li>{@code "bench":"latency"}: back-to-back small operations (8 bytes, 1 KiB, a 4-double
 *       statistics sum), time per operation.
 * </ul>
 *
 * <p>Sizes are MiB (2^20 bytes) and rates MiB/s. Options ({@code --name value}): transports
 * (udp,ipc), workers (2,4), sizes-mib (1,16,128), threading (SHARED), term-mib (16), udp-mtu
 * (65504: {@link ChannelTuning#loopback()}), ipc-mtu (65504), socket-kib (4096; 0 = driver
 * default), window-kib (4096), chunk-kib (64), idle (BACKOFF), budget-s (2: time per case, at least
 * 3 and at most 20 repetitions), latency-ops (200), authenticate (false: true signs and checks
 * every message with HMAC-SHA256, {@code cory.runtime.authenticate-frames}).
 */
public final class AllreduceBench {
  private static final int LATENCY_LOOPS = 5;
  private static final long TIMEOUT_NS = TimeUnit.MINUTES.toNanos(5);
  private static final long BENCH_TOKEN = 0x6265_6E63_68L;
  private static final byte[] BENCH_KEY = "bench-comm key, 32 bytes long...".getBytes(StandardCharsets.US_ASCII);
  private static final double MIB = 1024.0 * 1024.0;

  private AllreduceBench() {}

  /** Parsed command line. */
  record Options(
      List<Transport> transports,
      int[] workers,
      long[] sizesBytes,
      MediaDriverSettings.Threading threading,
      ChannelTuning tuning,
      int chunkBytes,
      IdleMode idle,
      double budgetSeconds,
      int latencyOps,
      boolean authenticate) {

    static Options parse(String[] args) {
      Map<String, String> values = new LinkedHashMap<>();
      values.put("transports", "udp,ipc");
      values.put("workers", "2,4");
      values.put("sizes-mib", "1,16,128");
      values.put("threading", "SHARED");
      values.put("term-mib", "16");
      values.put("udp-mtu", "65504");
      values.put("ipc-mtu", "65504");
      values.put("socket-kib", "4096");
      values.put("window-kib", "4096");
      values.put("chunk-kib", "64");
      values.put("idle", "BACKOFF");
      values.put("budget-s", "2");
      values.put("latency-ops", "200");
      values.put("authenticate", "false");
      for (int i = 0; i < args.length; i += 2) {
        String name = args[i].startsWith("--") ? args[i].substring(2) : args[i];
        if (!values.containsKey(name) || i + 1 >= args.length) {
          throw new IllegalArgumentException(
              "unknown option or missing value at '%s'; options: %s"
                  .formatted(args[i], values.keySet()));
        }
        values.put(name, args[i + 1]);
      }
      List<Transport> transports = new ArrayList<>();
      for (String name : values.get("transports").split(",")) {
        transports.add(Transport.valueOf(name.trim().toUpperCase(Locale.ROOT)));
      }
      long[] sizesBytes =
          Arrays.stream(values.get("sizes-mib").split(","))
              .mapToLong(s -> Math.round(Double.parseDouble(s.trim()) * MIB) / 4 * 4)
              .toArray();
      ChannelTuning tuning =
          new ChannelTuning(
              Integer.parseInt(values.get("term-mib")) << 20,
              Integer.parseInt(values.get("udp-mtu")),
              Integer.parseInt(values.get("ipc-mtu")),
              Integer.parseInt(values.get("socket-kib")) << 10,
              Integer.parseInt(values.get("window-kib")) << 10);
      return new Options(
          transports,
          Arrays.stream(values.get("workers").split(",")).mapToInt(Integer::parseInt).toArray(),
          sizesBytes,
          MediaDriverSettings.Threading.valueOf(values.get("threading").toUpperCase(Locale.ROOT)),
          tuning,
          Integer.parseInt(values.get("chunk-kib")) << 10,
          IdleMode.valueOf(values.get("idle").toUpperCase(Locale.ROOT)),
          Double.parseDouble(values.get("budget-s")),
          Integer.parseInt(values.get("latency-ops")),
          Boolean.parseBoolean(values.get("authenticate")));
    }
  }

  /** What one rank measured: seconds per repetition per size, seconds per op per latency case. */
  private record RankTimings(double[][] sizeSeconds, double[][] latencySecondsPerOp) {}

  private static final String[] LATENCY_CASES = {"average_8B", "average_1KiB", "sum_4_doubles"};
  private static final long[] LATENCY_BYTES = {8, 1024, 32};

  public static void main(String[] args) throws Exception {
    Options options = Options.parse(args);
    printConfig(options);
    for (long bytes : options.sizesBytes()) {
      memcpy(bytes);
    }
    MediaDriverSettings driverSettings =
        new MediaDriverSettings(
            true, null, options.threading(), options.tuning().termLengthBytes());
    try (MediaDriverHolder driver = MediaDriverHolder.acquire(driverSettings)) {
      for (Transport transport : options.transports()) {
        for (int workers : options.workers()) {
          runCase(driver.aeronDirectoryName(), transport, workers, options);
        }
      }
    }
  }

  private static void printConfig(Options o) {
    ChannelTuning t = o.tuning();
    System.out.println(
        ("{\"bench\":\"config\",\"cores\":%d,\"threading\":\"%s\",\"term_bytes\":%d,"
                + "\"udp_mtu\":%d,\"ipc_mtu\":%d,\"socket_buffer_bytes\":%d,"
                + "\"receiver_window_bytes\":%d,\"chunk_bytes\":%d,\"idle\":\"%s\",\"authenticate\":%b}")
            .formatted(
                Runtime.getRuntime().availableProcessors(),
                o.threading(),
                t.termLengthBytes(),
                t.udpMtuBytes(),
                t.ipcMtuBytes(),
                t.socketBufferBytes(),
                t.receiverWindowBytes(),
                o.chunkBytes(),
                o.idle(),
                o.authenticate()));
  }

  /** Copy of the same bytes between direct buffers (memcpy) and between heap float arrays. */
  private static void memcpy(long bytes) {
    int intBytes = Math.toIntExact(bytes);
    ByteBuffer src = ByteBuffer.allocateDirect(intBytes);
    ByteBuffer dst = ByteBuffer.allocateDirect(intBytes);
    float[] srcArray = new float[intBytes / Float.BYTES];
    float[] dstArray = new float[intBytes / Float.BYTES];
    double[] directSeconds = new double[7];
    double[] heapSeconds = new double[7];
    for (int rep = 0; rep < directSeconds.length; rep++) {
      long startNs = System.nanoTime();
      dst.clear();
      dst.put(src.duplicate());
      directSeconds[rep] = (System.nanoTime() - startNs) * 1e-9;
      startNs = System.nanoTime();
      System.arraycopy(srcArray, 0, dstArray, 0, srcArray.length);
      heapSeconds[rep] = (System.nanoTime() - startNs) * 1e-9;
    }
    for (String method : new String[] {"direct_buffer", "System.arraycopy"}) {
      double seconds = median(method.equals("direct_buffer") ? directSeconds : heapSeconds);
      System.out.println(
          "{\"bench\":\"memcpy\",\"method\":\"%s\",\"bytes\":%d,\"median_s\":%s,\"mib_per_s\":%s}"
              .formatted(method, bytes, num(seconds), num(bytes / MIB / seconds)));
    }
  }

  private static void runCase(String aeronDir, Transport transport, int workers, Options options)
      throws Exception {
    List<Endpoint> endpoints = new ArrayList<>();
    for (int r = 0; r < workers; r++) {
      int streamId = 3000 + 100 * workers + r + (transport == Transport.IPC ? 50 : 0);
      endpoints.add(
          transport == Transport.IPC
              ? Endpoint.ipc(streamId)
              : Endpoint.freeLocalUdp("127.0.0.1", streamId));
    }
    ExecutorService pool = Executors.newFixedThreadPool(workers);
    List<Future<RankTimings>> futures = new ArrayList<>();
    for (int rank = 0; rank < workers; rank++) {
      RingConfig config =
          new RingConfig(rank, endpoints, options.chunkBytes(), TIMEOUT_NS, options.idle(), options.tuning(),
              BENCH_TOKEN, options.authenticate() ? BENCH_KEY.clone() : null);
      futures.add(pool.submit(() -> runRank(aeronDir, config, options)));
    }
    List<RankTimings> timings = new ArrayList<>();
    try {
      for (Future<RankTimings> future : futures) {
        timings.add(future.get());
      }
    } finally {
      pool.shutdownNow();
    }
    report(transport, workers, options, timings);
  }

  private static RankTimings runRank(String aeronDir, RingConfig config, Options options) {
    try (RingAllreduce ring = RingAllreduce.connect(aeronDir, config)) {
      ring.barrier(); // wait for every peer: connection setup is not part of any figure
      double[][] latency = new double[LATENCY_CASES.length][];
      latency[0] = latencyLoops(ring, Nd4j.ones(DataType.FLOAT, 2), options.latencyOps());
      latency[1] = latencyLoops(ring, Nd4j.ones(DataType.FLOAT, 256), options.latencyOps());
      latency[2] = latencyLoops(ring, null, options.latencyOps());
      double[][] sizeSeconds = new double[options.sizesBytes().length][];
      for (int k = 0; k < sizeSeconds.length; k++) {
        sizeSeconds[k] = timeAverages(ring, options.sizesBytes()[k] / Float.BYTES, options);
      }
      return new RankTimings(sizeSeconds, latency);
    }
  }

  /** Seconds of each repetition of averageInPlace, each started right after a barrier. */
  private static double[] timeAverages(RingAllreduce ring, long floats, Options options) {
    // Every rank holds rank + 1, so every mean is exactly (W + 1) / 2: results are checked.
    INDArray buffer = Nd4j.valueArrayOf(new long[] {floats}, ring.rank() + 1.0f); // (floats)
    ring.barrier();
    long startNs = System.nanoTime();
    ring.averageInPlace(buffer); // warm-up; sizes the number of repetitions
    double warmupSeconds = (System.nanoTime() - startNs) * 1e-9;
    // The same count on every rank: derived from a sum that is identical everywhere.
    double meanWarmupSeconds = ring.sum(new double[] {warmupSeconds})[0] / ring.worldSize();
    int reps =
        (int) Math.max(3, Math.min(20, Math.round(options.budgetSeconds() / meanWarmupSeconds)));
    double[] seconds = new double[reps];
    for (int rep = 0; rep < reps; rep++) {
      ring.barrier();
      startNs = System.nanoTime();
      ring.averageInPlace(buffer);
      seconds[rep] = (System.nanoTime() - startNs) * 1e-9;
    }
    float expected = (ring.worldSize() + 1) / 2.0f;
    if (buffer.minNumber().floatValue() != expected
        || buffer.maxNumber().floatValue() != expected) {
      throw new IllegalStateException(
          "rank %d: wrong mean: min %s max %s, expected %s"
              .formatted(ring.rank(), buffer.minNumber(), buffer.maxNumber(), expected));
    }
    return seconds;
  }

  /** Seconds per operation of {@code ops} back-to-back operations, {@link #LATENCY_LOOPS} times. */
  private static double[] latencyLoops(RingAllreduce ring, INDArray buffer, int ops) {
    double[] statistics = {1.0, 2.0, 3.0, 4.0};
    double[] secondsPerOp = new double[LATENCY_LOOPS];
    for (int loop = -1; loop < LATENCY_LOOPS; loop++) { // loop -1 warms up
      ring.barrier();
      long startNs = System.nanoTime();
      for (int op = 0; op < ops; op++) {
        if (buffer == null) {
          ring.sum(statistics);
        } else {
          ring.averageInPlace(buffer);
        }
      }
      if (loop >= 0) {
        secondsPerOp[loop] = (System.nanoTime() - startNs) * 1e-9 / ops;
      }
    }
    return secondsPerOp;
  }

  private static void report(
      Transport transport, int workers, Options options, List<RankTimings> timings) {
    String transportName = transport.name().toLowerCase(Locale.ROOT);
    for (int c = 0; c < LATENCY_CASES.length; c++) {
      double[] slowest = slowestRankOf(timings, c, true);
      System.out.println(
          ("{\"bench\":\"latency\",\"transport\":\"%s\",\"workers\":%d,\"case\":\"%s\","
                  + "\"bytes\":%d,\"ops\":%d,\"median_us\":%s}")
              .formatted(
                  transportName,
                  workers,
                  LATENCY_CASES[c],
                  LATENCY_BYTES[c],
                  options.latencyOps() * LATENCY_LOOPS,
                  num(median(slowest) * 1e6)));
    }
    for (int k = 0; k < options.sizesBytes().length; k++) {
      double[] slowest = slowestRankOf(timings, k, false);
      long bytes = options.sizesBytes()[k];
      double seconds = median(slowest);
      double algorithmMibPerS = bytes / MIB / seconds;
      System.out.println(
          ("{\"bench\":\"allreduce\",\"transport\":\"%s\",\"workers\":%d,\"bytes\":%d,"
                  + "\"reps\":%d,\"median_s\":%s,\"min_s\":%s,\"alg_bw_mib_s\":%s,"
                  + "\"bus_bw_mib_s\":%s}")
              .formatted(
                  transportName,
                  workers,
                  bytes,
                  slowest.length,
                  num(seconds),
                  num(Arrays.stream(slowest).min().orElseThrow()),
                  num(algorithmMibPerS),
                  num(algorithmMibPerS * 2.0 * (workers - 1) / workers)));
    }
  }

  /** Per repetition, the time of the slowest rank: when the collective was done for all. */
  private static double[] slowestRankOf(List<RankTimings> timings, int index, boolean latency) {
    double[] slowest = null;
    for (RankTimings t : timings) {
      double[] mine = latency ? t.latencySecondsPerOp()[index] : t.sizeSeconds()[index];
      if (slowest == null) {
        slowest = mine.clone();
      } else {
        for (int i = 0; i < slowest.length; i++) {
          slowest[i] = Math.max(slowest[i], mine[i]);
        }
      }
    }
    return slowest;
  }

  private static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int n = sorted.length;
    return n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
  }

  private static String num(double value) {
    return String.format(Locale.ROOT, "%.6g", value);
  }
}
