package ai.cory.worker.comm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.config.RuntimeSettings.Transport;
import ai.cory.worker.comm.MessageHeader.OpKind;
import io.aeron.Aeron;
import io.aeron.ExclusivePublication;
import java.nio.ByteOrder;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.agrona.BufferUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The data plane is closed to strangers: a foreign Aeron publication that reaches a rank's UDP
 * port on the ring's stream id, with a well-formed header for exactly the step the rank expects
 * (even the run's token), but from another session, has every frame dropped and counted, and the
 * allreduce result is the one of a clean ring, bit for bit.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
final class RingIsolationTest {
  private static final long TOKEN = 0x7E57_5EC2_E7L;
  private static final int SIZE = 4096;
  private static MediaDriverHolder driver;

  @BeforeAll
  static void startDriver() {
    driver = MediaDriverHolder.acquire(MediaDriverSettings.embedded(MediaDriverSettings.Threading.SHARED));
  }

  @AfterAll
  static void stopDriver() {
    driver.close();
  }

  private static float[] inputs(int rank) {
    float[] x = new float[SIZE];
    for (int i = 0; i < SIZE; i++) {
      x[i] = (float) Math.sin(0.01 * i + rank) * (rank + 1);
    }
    return x;
  }

  @Test
  void framesFromAnotherSessionAreDroppedCountedAndChangeNothing() throws Exception {
    List<Endpoint> endpoints = RingHarness.endpoints(Transport.UDP, 2);
    Endpoint victim = endpoints.get(1);
    CountDownLatch injected = new CountDownLatch(1);
    long[] foreignSeen = new long[2];
    Thread stranger = new Thread(() -> inject(victim, injected), "stranger");
    stranger.start();
    List<RingHarness.Outcome<float[]>> outcomes = RingHarness.run(driver.aeronDirectoryName(), new int[] {0, 1},
        rank -> new RingConfig(rank, endpoints, RingHarness.TEST_CHUNK_BYTES, TimeUnit.SECONDS.toNanos(20),
            IdleMode.BACKOFF, RingHarness.TEST_TUNING, TOKEN, null),
        ring -> {
          assertTrue(injected.await(20, TimeUnit.SECONDS), "the stranger reached rank 1's port");
          // the ring polls only inside operations: average until every injected frame has been
          // seen (the media driver delivers them when it gets to it), every result checked below
          float[] first = null;
          for (int round = 0; round < 200; round++) {
            INDArray buffer = Nd4j.createFromArray(inputs(ring.rank())); // (SIZE)
            ring.averageInPlace(buffer);
            float[] result = buffer.toFloatVector();
            if (first == null) {
              first = result;
            } else {
              assertArrayEquals(first, result, "round " + round);
            }
            foreignSeen[ring.rank()] = ring.foreignFrames();
            if (ring.sum(new double[] {ring.rank() == 1 ? ring.foreignFrames() : 0})[0] >= 8) {
              break;
            }
            Thread.sleep(10);
          }
          return first;
        });
    stranger.join();
    float[] a = inputs(0);
    float[] b = inputs(1);
    float[] mean = new float[SIZE];
    for (int i = 0; i < SIZE; i++) {
      mean[i] = (a[i] + b[i]) / 2f; // W = 2: each segment is one float sum, divided by 2
    }
    for (RingHarness.Outcome<float[]> o : outcomes) {
      assertNull(o.error(), () -> "a rank failed: " + o.error());
      assertArrayEquals(mean, o.value(), "the strangers' frames were not summed in");
    }
    assertTrue(foreignSeen[1] >= 8, "rank 1 dropped and counted the foreign frames: " + foreignSeen[1]);
    assertEquals(0, foreignSeen[0], "nobody wrote to rank 0");
  }

  /** With authentication on, the ring computes the same bits; a message signed with another key fails it. */
  @Test
  void authenticatedMessagesAverageAlikeAndAnotherKeyFailsTheCollective() throws Exception {
    byte[] key = new byte[32];
    byte[] other = new byte[32];
    for (int i = 0; i < 32; i++) {
      key[i] = (byte) (i * 7 + 1);
      other[i] = (byte) (i * 7 + 2);
    }
    float[] a = inputs(0);
    float[] b = inputs(1);
    float[] mean = new float[SIZE];
    for (int i = 0; i < SIZE; i++) {
      mean[i] = (a[i] + b[i]) / 2f;
    }
    List<Endpoint> endpoints = RingHarness.endpoints(Transport.UDP, 2);
    List<RingHarness.Outcome<float[]>> signed = RingHarness.run(driver.aeronDirectoryName(), new int[] {0, 1},
        rank -> new RingConfig(rank, endpoints, RingHarness.TEST_CHUNK_BYTES, TimeUnit.SECONDS.toNanos(20),
            IdleMode.BACKOFF, RingHarness.TEST_TUNING, TOKEN, key),
        ring -> {
          INDArray buffer = Nd4j.createFromArray(inputs(ring.rank())); // (SIZE)
          ring.averageInPlace(buffer);
          return buffer.toFloatVector();
        });
    for (RingHarness.Outcome<float[]> o : signed) {
      assertNull(o.error(), () -> "a rank failed: " + o.error());
      assertArrayEquals(mean, o.value());
    }

    List<Endpoint> forged = RingHarness.endpoints(Transport.UDP, 2);
    List<RingHarness.Outcome<float[]>> mixed = RingHarness.run(driver.aeronDirectoryName(), new int[] {0, 1},
        rank -> new RingConfig(rank, forged, RingHarness.TEST_CHUNK_BYTES, TimeUnit.SECONDS.toNanos(5),
            IdleMode.BACKOFF, RingHarness.TEST_TUNING, TOKEN, rank == 0 ? key : other),
        ring -> {
          INDArray buffer = Nd4j.createFromArray(inputs(ring.rank())); // (SIZE)
          ring.averageInPlace(buffer);
          return buffer.toFloatVector();
        });
    assertTrue(mixed.stream().anyMatch(o -> o.error() != null
        && String.valueOf(o.error().getMessage()).contains("failed authentication")), () -> mixed.toString());
  }

  @Test
  void everyRankOfARingHasItsOwnSessionIdAndAnotherTokenGivesOthers() {
    List<Endpoint> endpoints = List.of(Endpoint.ipc(1), Endpoint.ipc(2), Endpoint.ipc(3));
    RingConfig mine = new RingConfig(0, endpoints, 4096, 1, IdleMode.BACKOFF, ChannelTuning.defaults(), TOKEN, null);
    RingConfig theirs = new RingConfig(0, endpoints, 4096, 1, IdleMode.BACKOFF, ChannelTuning.defaults(), TOKEN + 1, null);
    assertNotEquals(mine.sessionId(0), mine.sessionId(1));
    assertNotEquals(mine.sessionId(1), mine.sessionId(2));
    for (int r = 0; r < 3; r++) {
      assertNotEquals(mine.sessionId(r), theirs.sessionId(r), "rank " + r);
    }
  }

  /**
   * A stranger on the same media driver: an exclusive publication to rank 1's endpoint and stream,
   * sending what rank 0 would send in step 0 of the first average, with huge values.
   */
  private static void inject(Endpoint victim, CountDownLatch injected) {
    try (Aeron aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(driver.aeronDirectoryName()));
        ExclusivePublication pub = aeron.addExclusivePublication("aeron:udp?endpoint=" + victim.hostAndPort(),
            victim.streamId())) {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (!pub.isConnected() && System.nanoTime() < deadline) { // rank 1's subscription exists
        Thread.onSpinWait();
      }
      int payload = 1024;
      UnsafeBuffer message = new UnsafeBuffer(BufferUtil.allocateDirectAligned(MessageHeader.LENGTH + payload, 8));
      for (int k = 0; k < 8; k++) {
        MessageHeader.write(message, 1, (long) SIZE * Float.BYTES, (long) k * payload, OpKind.AVERAGE_FLOAT, 0, 0,
            payload, TOKEN);
        for (int i = 0; i < payload; i += Float.BYTES) {
          message.putFloat(MessageHeader.LENGTH + i, 1e9f, ByteOrder.LITTLE_ENDIAN);
        }
        while (pub.offer(message, 0, MessageHeader.LENGTH + payload) < 0 && System.nanoTime() < deadline) {
          Thread.onSpinWait();
        }
      }
    } finally {
      injected.countDown();
    }
  }
}
