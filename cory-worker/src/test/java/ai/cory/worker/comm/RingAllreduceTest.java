package ai.cory.worker.comm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.config.RuntimeSettings.Transport;
import ai.cory.worker.comm.RingHarness.Outcome;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** W ranks as threads of this JVM on one embedded media driver, over IPC and UDP loopback. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class RingAllreduceTest {
  private static final long TIMEOUT_MS = 20_000;
  private static MediaDriverHolder driver;

  @BeforeAll
  static void startDriver() {
    driver = MediaDriverHolder.acquire(MediaDriverSettings.embedded(MediaDriverSettings.Threading.SHARED));
  }

  @AfterAll
  static void stopDriver() {
    driver.close();
  }

  static Stream<Arguments> rings() {
    List<Arguments> rings = new ArrayList<>();
    for (Transport transport : List.of(Transport.UDP, Transport.IPC)) {
      for (int worldSize = 2; worldSize <= 4; worldSize++) {
        rings.add(Arguments.of(transport, worldSize));
      }
    }
    return rings.stream();
  }

  /**
   * Sizes not divisible by W nor by the chunk: 1 (segments of zero length), 7 and 1,000,003 floats
   * (about 61 chunks of 16 KiB per segment at W = 4, each spanning several fragments).
   */
  @ParameterizedTest(name = "{0} W={1}")
  @MethodSource("rings")
  void averageMatchesDoubleReferenceAndIsBitIdenticalOnEveryRank(Transport transport, int worldSize)
      throws Exception {
    int[] sizes = {1, 7, 1_000_003};
    List<float[][]> perRank =
        RingHarness.runAll(
            driver.aeronDirectoryName(),
            RingHarness.endpoints(transport, worldSize),
            TIMEOUT_MS,
            ring -> {
              float[][] averaged = new float[sizes.length][];
              for (int k = 0; k < sizes.length; k++) {
                INDArray buffer = Nd4j.createFromArray(inputs(ring.rank(), sizes[k])); // (n)
                ring.averageInPlace(buffer);
                averaged[k] = buffer.toFloatVector();
              }
              return averaged;
            });
    for (int k = 0; k < sizes.length; k++) {
      float[][] inputs = new float[worldSize][];
      for (int r = 0; r < worldSize; r++) {
        inputs[r] = inputs(r, sizes[k]);
      }
      assertCloseToMean(inputs, perRank.get(0)[k]);
      for (int r = 1; r < worldSize; r++) {
        assertBitIdentical(
            perRank.get(0)[k], perRank.get(r)[k], "rank " + r + ", size " + sizes[k]);
      }
    }
  }

  /** A 1 MiB chunk on 64 KiB terms (largest message 8 KiB) is cut to what Aeron accepts. */
  @Test
  void chunkLargerThanTheLargestMessageIsCappedToIt() throws Exception {
    int worldSize = 2;
    int size = 100_003;
    List<Endpoint> endpoints = RingHarness.endpoints(Transport.IPC, worldSize);
    ChannelTuning smallTerms = new ChannelTuning(64 * 1024, 1408, 1408, 0, 0);
    List<Outcome<float[]>> outcomes =
        RingHarness.run(
            driver.aeronDirectoryName(),
            new int[] {0, 1},
            rank ->
                new RingConfig(
                    rank,
                    endpoints,
                    1 << 20,
                    TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MS),
                    IdleMode.BACKOFF,
                    smallTerms),
            ring -> {
              INDArray buffer = Nd4j.createFromArray(inputs(ring.rank(), size)); // (n)
              ring.averageInPlace(buffer);
              return buffer.toFloatVector();
            });
    float[][] inputs = {inputs(0, size), inputs(1, size)};
    for (Outcome<float[]> outcome : outcomes) {
      assertNull(outcome.error());
      assertCloseToMean(inputs, outcome.value());
    }
    assertBitIdentical(outcomes.get(0).value(), outcomes.get(1).value(), "rank 1");
  }

  @Test
  void averagesADenseViewWithoutTouchingItsNeighbours() throws Exception {
    int worldSize = 3;
    int offset = 10;
    int length = 77;
    List<float[]> perRank =
        RingHarness.runAll(
            driver.aeronDirectoryName(),
            RingHarness.endpoints(Transport.IPC, worldSize),
            TIMEOUT_MS,
            ring -> {
              INDArray flat = Nd4j.valueArrayOf(new long[] {100}, -1.0f, DataType.FLOAT); // (100)
              INDArray view = flat.get(NDArrayIndex.interval(offset, offset + length)); // (77)
              view.assign(Nd4j.createFromArray(inputs(ring.rank(), length)));
              ring.averageInPlace(view);
              return flat.toFloatVector();
            });
    float[][] inputs = new float[worldSize][];
    for (int r = 0; r < worldSize; r++) {
      inputs[r] = inputs(r, length);
    }
    for (float[] flat : perRank) {
      float[] inside = new float[length];
      System.arraycopy(flat, offset, inside, 0, length);
      assertCloseToMean(inputs, inside);
      for (int i = 0; i < flat.length; i++) {
        if (i < offset || i >= offset + length) {
          assertEquals(-1.0f, flat[i], "element " + i + " outside the view changed");
        }
      }
    }
  }

  @ParameterizedTest
  @EnumSource(Transport.class)
  void sumIsTheExactSumOnEveryRankAndBarrierReleasesAll(Transport transport) throws Exception {
    int worldSize = 4;
    // Rank-order double addition gives ((1e16 + 1) - 1e16) + 1 = 1; the exact sum is 2.
    double[] cancelling = {1e16, 1.0, -1e16, 1.0};
    double[][] values = new double[worldSize][];
    SplittableRandom random = new SplittableRandom(7);
    for (int r = 0; r < worldSize; r++) {
      values[r] = new double[] {cancelling[r], r + 0.5, random.nextGaussian() * 1e3, 1e-300 * r};
    }
    List<double[]> perRank =
        RingHarness.runAll(
            driver.aeronDirectoryName(),
            RingHarness.endpoints(transport, worldSize),
            TIMEOUT_MS,
            ring -> {
              ring.barrier();
              double[] sums = ring.sum(values[ring.rank()]);
              ring.barrier();
              return sums;
            });
    double[] expected = new double[values[0].length];
    for (int i = 0; i < expected.length; i++) {
      BigDecimal exact = BigDecimal.ZERO;
      for (double[] rankValues : values) {
        exact = exact.add(new BigDecimal(rankValues[i]));
      }
      expected[i] = exact.doubleValue();
    }
    assertEquals(2.0, expected[0]);
    assertEquals(8.0, expected[1]);
    for (double[] sums : perRank) {
      assertArrayEquals(expected, sums, 0.0);
    }
  }

  /**
   * All-gather returns every rank's values bit for bit in rank order, for a single double and for
   * 300,001 doubles per rank (2.4 MB, many chunks), with signed zeros, subnormals and NaN intact.
   */
  @ParameterizedTest
  @EnumSource(Transport.class)
  void allGatherConcatenatesEveryRankExactly(Transport transport) throws Exception {
    int worldSize = 3;
    int[] sizes = {1, 300_001};
    List<double[][]> perRank =
        RingHarness.runAll(
            driver.aeronDirectoryName(),
            RingHarness.endpoints(transport, worldSize),
            TIMEOUT_MS,
            ring -> {
              double[][] out = new double[sizes.length][];
              for (int k = 0; k < sizes.length; k++) {
                out[k] = ring.allGather(gatherInput(ring.rank(), sizes[k]));
              }
              return out;
            });
    for (int k = 0; k < sizes.length; k++) {
      double[] expected = new double[sizes[k] * worldSize];
      for (int r = 0; r < worldSize; r++) {
        System.arraycopy(gatherInput(r, sizes[k]), 0, expected, r * sizes[k], sizes[k]);
      }
      for (int r = 0; r < worldSize; r++) {
        double[] got = perRank.get(r)[k];
        assertEquals(expected.length, got.length);
        for (int i = 0; i < expected.length; i++) {
          if (Double.doubleToRawLongBits(expected[i]) != Double.doubleToRawLongBits(got[i])) {
            throw new AssertionError("rank " + r + ", size " + sizes[k] + ", element " + i + ": expected "
                + expected[i] + ", got " + got[i]);
          }
        }
      }
    }
  }

  private static double[] gatherInput(int rank, int n) {
    SplittableRandom random = new SplittableRandom(31L * rank + n);
    double[] v = new double[n];
    for (int i = 0; i < n; i++) {
      v[i] = switch (i % 5) {
        case 0 -> -0.0;
        case 1 -> Double.MIN_VALUE * (rank + 1);
        case 2 -> Double.NaN;
        default -> random.nextGaussian() * 1e6 + rank;
      };
    }
    if (n > 0) {
      v[0] = rank + 0.25; // the one-element case says whose value lands where
    }
    return v;
  }

  /** Ops of changing sizes (some smaller than W) back to back: each result is exact. */
  @Test
  void repeatedMixedOperationsStayInStep() throws Exception {
    int worldSize = 3;
    int iterations = 40;
    List<Boolean> done =
        RingHarness.runAll(
            driver.aeronDirectoryName(),
            RingHarness.endpoints(Transport.UDP, worldSize),
            TIMEOUT_MS,
            ring -> {
              for (int i = 0; i < iterations; i++) {
                int size = 1 + (i * 7919) % 5000;
                // Small integers: float sums are exact and (0 + 1 + 2) / 3 = 1.
                INDArray buffer =
                    Nd4j.valueArrayOf(new long[] {size}, ring.rank() + i, DataType.FLOAT);
                ring.averageInPlace(buffer);
                float[] mean = buffer.toFloatVector();
                for (float value : mean) {
                  assertEquals(1.0f + i, value, "iteration " + i + " size " + size);
                }
                assertArrayEquals(
                    new double[] {3.0 * i, 3.0},
                    ring.sum(new double[] {i, 1.0}),
                    0.0,
                    "iteration " + i);
                if (i % 10 == 0) {
                  ring.barrier();
                }
              }
              return true;
            });
    assertEquals(List.of(true, true, true), done);
  }

  @ParameterizedTest
  @EnumSource(Transport.class)
  void missingPeerTimesOutNamingItsRankAndEndpoint(Transport transport) throws Exception {
    int worldSize = 3;
    long timeoutMs = 1_000;
    List<Endpoint> endpoints = RingHarness.endpoints(transport, worldSize);
    // Rank 2 never shows up: rank 1 cannot send to it, rank 0 never hears from it. The two keep
    // their rings open until both timed out, so neither sees the other close first.
    CyclicBarrier bothTimedOut = new CyclicBarrier(2);
    List<Outcome<String[]>> outcomes =
        RingHarness.run(
            driver.aeronDirectoryName(),
            endpoints,
            new int[] {0, 1},
            timeoutMs,
            ring -> {
              INDArray buffer = Nd4j.ones(DataType.FLOAT, 10); // (10)
              long startNs = System.nanoTime();
              AllreduceException timeout =
                  assertThrows(AllreduceException.class, () -> ring.averageInPlace(buffer));
              long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
              bothTimedOut.await(10, TimeUnit.SECONDS);
              AllreduceException afterwards =
                  assertThrows(AllreduceException.class, () -> ring.sum(new double[] {1}));
              assertInstanceOf(AllreduceTimeoutException.class, timeout, timeout.getMessage());
              assertTrue(
                  elapsedMs >= timeoutMs && elapsedMs < timeoutMs + 2_000,
                  "timed out after " + elapsedMs + " ms for a limit of " + timeoutMs);
              return new String[] {timeout.getMessage(), afterwards.getMessage()};
            });
    for (Outcome<String[]> outcome : outcomes) {
      assertFalse(outcome.error() != null, () -> "unexpected failure: " + outcome.error());
      String message = outcome.value()[0];
      assertTrue(message.contains("rank 2"), message);
      assertTrue(message.contains(endpoints.get(2).toString()), message);
      assertTrue(outcome.value()[1].contains("broken by an earlier failure"), outcome.value()[1]);
    }
  }

  /**
   * The rank that sees the bad header fails with a protocol error and closes its ring; a neighbour
   * still waiting on it then fails at once because it went away, long before the timeout.
   */
  @Test
  void mismatchedSizesFailFastWithAProtocolErrorInsteadOfMixingData() throws Exception {
    long timeoutMs = 20_000;
    List<Outcome<Void>> outcomes =
        RingHarness.run(
            driver.aeronDirectoryName(),
            RingHarness.endpoints(Transport.IPC, 2),
            new int[] {0, 1},
            timeoutMs,
            ring -> {
              ring.averageInPlace(Nd4j.ones(DataType.FLOAT, 10 + 2 * ring.rank()));
              return null;
            });
    int protocolErrors = 0;
    for (Outcome<Void> outcome : outcomes) {
      assertNotNull(outcome.error(), "a rank accepted a buffer of another size");
      assertInstanceOf(AllreduceException.class, outcome.error());
      String message = outcome.error().getMessage();
      assertFalse(outcome.error() instanceof AllreduceTimeoutException, message);
      // The rank that reads the bad header reports the protocol error and closes its ring; its
      // neighbour then fails fast on the closed stream, from either side of the ring.
      assertTrue(message.contains("protocol error") || message.contains("went away")
          || message.contains("disconnected"), message);
      assertTrue(
          outcome.elapsedNs() < TimeUnit.MILLISECONDS.toNanos(timeoutMs / 4),
          "failed only after " + TimeUnit.NANOSECONDS.toMillis(outcome.elapsedNs()) + " ms");
      protocolErrors += message.contains("protocol error") ? 1 : 0;
    }
    assertTrue(protocolErrors >= 1, "no rank reported the protocol error");
  }

  /** A peer that closes its ring (as after a failure) makes its neighbours fail at once. */
  @ParameterizedTest
  @EnumSource(Transport.class)
  void peerThatLeavesMakesItsNeighboursFailFast(Transport transport) throws Exception {
    long timeoutMs = 20_000;
    List<Outcome<Void>> outcomes =
        RingHarness.run(
            driver.aeronDirectoryName(),
            RingHarness.endpoints(transport, 3),
            new int[] {0, 1, 2},
            timeoutMs,
            ring -> {
              ring.barrier();
              if (ring.rank() != 2) {
                ring.averageInPlace(Nd4j.ones(DataType.FLOAT, 1000));
              }
              return null; // rank 2 leaves: its ring closes
            });
    // Rank 1 (sending to 2) and rank 0 (receiving from 2) each notice; the first to fail closes
    // its ring too, so the other may instead report that neighbour: failures cascade.
    assertNull(outcomes.get(2).error());
    int namingRank2 = 0;
    for (int rank = 0; rank < 2; rank++) {
      Throwable error = outcomes.get(rank).error();
      assertInstanceOf(AllreduceException.class, error, "rank " + rank);
      assertFalse(error instanceof AllreduceTimeoutException, error.getMessage());
      assertTrue(
          error.getMessage().matches(".*neighbour rank \\d (disconnected|closed its stream).*"),
          error.getMessage());
      namingRank2 += error.getMessage().contains("neighbour rank 2") ? 1 : 0;
      assertTrue(
          outcomes.get(rank).elapsedNs() < TimeUnit.MILLISECONDS.toNanos(timeoutMs / 4),
          "failed only after " + outcomes.get(rank).elapsedNs() / 1_000_000 + " ms");
    }
    assertTrue(namingRank2 >= 1, "no rank named the rank that left");
  }

  @Test
  void singleRankIsANoOpWithoutADriver() {
    RingConfig config = RingHarness.config(0, List.of(Endpoint.ipc(1)), 1_000);
    try (RingAllreduce ring = RingAllreduce.connect("/nonexistent/aeron", config)) {
      INDArray buffer = Nd4j.createFromArray(1.5f, -2.0f, 3.25f);
      ring.averageInPlace(buffer);
      assertArrayEquals(new float[] {1.5f, -2.0f, 3.25f}, buffer.toFloatVector());
      double[] values = {1.0, 2.0};
      double[] sums = ring.sum(values);
      assertArrayEquals(values, sums);
      assertFalse(sums == values, "sum must return a new array");
      ring.barrier();
    }
  }

  @Test
  void rejectsNonFloatAndNonDenseBuffers() {
    RingConfig config = RingHarness.config(0, List.of(Endpoint.ipc(1)), 1_000);
    try (RingAllreduce ring = RingAllreduce.connect("/nonexistent/aeron", config)) {
      IllegalArgumentException wrongType =
          assertThrows(
              IllegalArgumentException.class,
              () -> ring.averageInPlace(Nd4j.ones(DataType.DOUBLE, 4)));
      assertTrue(wrongType.getMessage().contains("DOUBLE"), wrongType.getMessage());
      INDArray column = Nd4j.ones(DataType.FLOAT, 4, 5).getColumn(1); // (4), stride 5
      IllegalArgumentException strided =
          assertThrows(IllegalArgumentException.class, () -> ring.averageInPlace(column));
      assertTrue(strided.getMessage().contains("dense"), strided.getMessage());
    }
  }

  /** Gaussian values spread over six decades, different per rank and size. */
  private static float[] inputs(int rank, int size) {
    SplittableRandom random = new SplittableRandom(1_000_003L * rank + size);
    float[] values = new float[size];
    for (int i = 0; i < size; i++) {
      values[i] = (float) (random.nextGaussian() * Math.pow(10, random.nextInt(-3, 4)));
    }
    return values;
  }

  /**
   * |got - mean| <= (W-1) u sum|v| / W + ulp(mean): the error bound of W-1 float additions (Higham,
   * Accuracy and Stability of Numerical Algorithms, eq. 4.4; u = 2^-24), carried through the
   * division by W, plus the roundings of the division and of the double reference.
   */
  private static void assertCloseToMean(float[][] inputs, float[] got) {
    int worldSize = inputs.length;
    double unitRoundoff = Math.scalb(1.0, -24);
    for (int i = 0; i < got.length; i++) {
      double sum = 0;
      double sumAbs = 0;
      for (float[] rankInputs : inputs) {
        sum += rankInputs[i];
        sumAbs += Math.abs(rankInputs[i]);
      }
      float mean = (float) (sum / worldSize);
      double bound = (worldSize - 1) * unitRoundoff * sumAbs / worldSize * 1.01 + Math.ulp(mean);
      double error = Math.abs((double) got[i] - mean);
      if (!(error <= bound)) {
        throw new AssertionError(
            "element %d of %d: got %s, mean %s, error %.3g > bound %.3g"
                .formatted(i, got.length, got[i], mean, error, bound));
      }
    }
  }

  private static void assertBitIdentical(float[] expected, float[] actual, String what) {
    assertEquals(expected.length, actual.length, what);
    for (int i = 0; i < expected.length; i++) {
      if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
        throw new AssertionError(
            "%s: element %d differs from rank 0: %s vs %s"
                .formatted(what, i, actual[i], expected[i]));
      }
    }
  }
}
