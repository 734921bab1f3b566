package ai.cory.worker.comm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class EndpointTest {
  @Test
  void stringFormRoundTrips() {
    for (Endpoint endpoint :
        List.of(
            Endpoint.udp("10.0.0.7", 40123, 1001),
            Endpoint.udp("[::1]", 5, 7),
            Endpoint.udp("worker-3.example.org", 65535, -2),
            Endpoint.ipc(42))) {
      assertEquals(endpoint, Endpoint.parse(endpoint.toString()), endpoint.toString());
    }
    assertEquals("udp://10.0.0.7:40123/1001", Endpoint.udp("10.0.0.7", 40123, 1001).toString());
    assertEquals("ipc://42", Endpoint.ipc(42).toString());
  }

  @Test
  void rejectsMalformedEndpoints() {
    for (String text : List.of("", "tcp://a:1/2", "udp://host/2", "udp://host:x/2", "ipc://")) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> Endpoint.parse(text), text);
      assertTrue(e.getMessage().contains("'" + text + "'"), e.getMessage());
    }
    assertThrows(IllegalArgumentException.class, () -> Endpoint.udp("h", 0, 1));
    assertThrows(IllegalArgumentException.class, () -> Endpoint.udp("", 80, 1));
  }

  @Test
  void freeLocalUdpPortsAreUsable() {
    Endpoint a = Endpoint.freeLocalUdp("127.0.0.1", 1);
    Endpoint b = Endpoint.freeLocalUdp("127.0.0.1", 1);
    assertTrue(a.port() > 0);
    assertNotEquals(0, b.port());
    assertEquals("127.0.0.1:" + a.port(), a.hostAndPort());
  }

  @Test
  void ringConfigNamesTheBadSetting() {
    List<Endpoint> two = List.of(Endpoint.ipc(1), Endpoint.ipc(2));
    ChannelTuning tuning = ChannelTuning.defaults();
    IllegalArgumentException rank =
        assertThrows(
            IllegalArgumentException.class,
            () -> new RingConfig(2, two, 1 << 20, 1, IdleMode.BACKOFF, tuning));
    assertTrue(rank.getMessage().contains("rank must be in 0..1"), rank.getMessage());
    IllegalArgumentException duplicate =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                new RingConfig(
                    0,
                    List.of(Endpoint.ipc(1), Endpoint.ipc(1)),
                    1 << 20,
                    1,
                    IdleMode.BACKOFF,
                    tuning));
    assertTrue(duplicate.getMessage().contains("rank 1 reuses"), duplicate.getMessage());
    IllegalArgumentException mixed =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                new RingConfig(
                    0,
                    List.of(Endpoint.ipc(1), Endpoint.udp("h", 9, 1)),
                    1 << 20,
                    1,
                    IdleMode.BACKOFF,
                    tuning));
    assertTrue(mixed.getMessage().contains("all endpoints must use IPC"), mixed.getMessage());
    RingConfig ring = new RingConfig(1, two, 1 << 20, 1, IdleMode.BACKOFF, tuning);
    assertEquals(2, ring.worldSize());
    assertEquals(0, ring.leftRank());
    assertEquals(0, ring.rightRank());
    IllegalArgumentException term =
        assertThrows(
            IllegalArgumentException.class, () -> new ChannelTuning(3 << 20, 8192, 8192, 0, 0));
    assertTrue(term.getMessage().contains("termLengthBytes"), term.getMessage());
  }

  @Test
  void exactSumIsOrderIndependentAndCorrectlyRounded() {
    double[] terms = {1e16, 1.0, -1e16, 1.0};
    assertEquals(2.0, RingAllreduce.exactSum(terms));
    assertEquals(2.0, RingAllreduce.exactSum(new double[] {1.0, 1.0, 1e16, -1e16}));
    // 0.1 + 0.2 + 0.3 exactly is 0.6000000000000000055511151231257827 (the three doubles'
    // exact sum), whose nearest double is 0.6; left-to-right double addition gives
    // 0.6000000000000001.
    assertEquals(0.6, RingAllreduce.exactSum(new double[] {0.1, 0.2, 0.3}));
    assertEquals(
        Double.POSITIVE_INFINITY,
        RingAllreduce.exactSum(new double[] {1, Double.POSITIVE_INFINITY}));
    assertTrue(Double.isNaN(RingAllreduce.exactSum(new double[] {1, Double.NaN})));
  }
}
