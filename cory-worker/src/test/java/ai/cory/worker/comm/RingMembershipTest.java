package ai.cory.worker.comm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.config.RuntimeSettings.Transport;
import ai.cory.worker.comm.RingMembership.Peer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Ring membership: the decisions every task takes from the same rendezvous table, and the fast
 * rendezvous over the ring itself, with two real memberships on an Aeron IPC ring in this JVM.
 * The ring is kept only when every member runs the iteration at its ring rank and holds the
 * previous iteration's state; otherwise every member closes it alike (so all fall back to the
 * slow rendezvous), and a lost peer costs the short timeout, not the collective one.
 */
final class RingMembershipTest {
  private static final long SHORT_NS = TimeUnit.MILLISECONDS.toNanos(700);
  private static final Endpoint E0 = Endpoint.udp("10.0.0.1", 40001, 7);
  private static final Endpoint E1 = Endpoint.udp("10.0.0.2", 40002, 8);
  private final ExecutorService pool = Executors.newFixedThreadPool(2);
  private final RingMembership[] members = new RingMembership[2];

  @BeforeEach
  void twoMembersInARing() throws Exception {
    for (int r = 0; r < 2; r++) {
      members[r] = RingMembership.open(new RingMembership.Options(2, Transport.IPC, "127.0.0.1", null, 65536,
          60_000, 0x5EC12E7L, null));
    }
    connect();
  }

  @AfterEach
  void close() {
    pool.shutdownNow();
    for (RingMembership m : members) {
      if (m != null) {
        m.close();
      }
    }
  }

  private void connect() throws Exception {
    List<Endpoint> endpoints = List.of(members[0].freshEndpoint(), members[1].freshEndpoint());
    both(r -> {
      members[r].connect(r, endpoints);
      return true;
    });
  }

  private interface PerRank<T> {
    T call(int rank) throws Exception;
  }

  private <T> List<T> both(PerRank<T> task) throws Exception {
    List<Future<T>> futures = new ArrayList<>();
    for (int r = 0; r < 2; r++) {
      int rank = r;
      futures.add(pool.submit((Callable<T>) () -> task.call(rank)));
    }
    List<T> out = new ArrayList<>();
    for (Future<T> f : futures) {
      out.add(f.get(60, TimeUnit.SECONDS));
    }
    return out;
  }

  private static Peer peer(int rank, Endpoint e, String ringKey, long completed) {
    return new Peer(rank, e, ringKey, completed, "exec-" + rank);
  }

  @Test
  void theRingIsKeptOnlyWhenEveryReplicaIsInItAtItsRank() {
    String ring = RingMembership.ringKeyOf(List.of(E0, E1));
    assertTrue(RingMembership.canReuseRing(List.of(peer(0, E0, ring, 3), peer(1, E1, ring, 3))));
    // the same two replicas with their ranks swapped: a different ring
    assertFalse(RingMembership.canReuseRing(List.of(peer(0, E1, ring, 3), peer(1, E0, ring, 3))));
    // a fresh replica (no ring yet) next to one that has a ring
    assertFalse(RingMembership.canReuseRing(List.of(peer(0, E0, ring, 3),
        peer(1, null, RingMembership.NO_RING, 3))));
    // a replica from another ring with the same peer
    String other = RingMembership.ringKeyOf(List.of(E0, Endpoint.udp("10.0.0.3", 40003, 9)));
    assertFalse(RingMembership.canReuseRing(List.of(peer(0, E0, other, 3), peer(1, E1, ring, 3))));
  }

  @Test
  void peersRoundTripThroughTheirRendezvousMessage() {
    Peer p = peer(1, E1, "abc", 12);
    assertEquals(p, Peer.decode(1, p.encode()));
    Peer fresh = peer(0, null, RingMembership.NO_RING, RingMembership.NONE_COMPLETED);
    assertEquals(fresh, Peer.decode(0, fresh.encode()));
  }

  @Test
  void aReplicaOutOfStepFailsEveryTaskNamingIt() {
    RingMembership.requireInStep(5, List.of(peer(0, E0, "k", 4), peer(1, E1, "k", 4)));
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> RingMembership.requireInStep(5,
        List.of(peer(0, E0, "k", 4), peer(1, null, RingMembership.NO_RING, RingMembership.NONE_COMPLETED))));
    assertTrue(e.getMessage().contains("rank 1 (exec-1) holds the initial model"), e.getMessage());
    assertTrue(e.getMessage().contains("state after iteration 4"), e.getMessage());
  }

  @Test
  void theRingIsKeptWhenEveryMemberIsInStepAtItsRank() throws Exception {
    String key = members[0].ringKey();
    assertEquals(List.of(true, true), both(r -> members[r].tryKeep(r, 1, 0, SHORT_NS)));
    assertEquals(key, members[1].ringKey(), "same ring");
    assertEquals(List.of(true, true), both(r -> members[r].tryKeep(r, 2, 1, SHORT_NS)), "and again");
  }

  @Test
  void everyMemberLetsGoWhenOneIsOutOfStepOrTheRanksMoved() throws Exception {
    // rank 1's replica was reloaded after a failure
    long[] completed = {0, RingMembership.NONE_COMPLETED};
    assertEquals(List.of(false, false), both(r -> members[r].tryKeep(r, 1, completed[r], SHORT_NS)));
    assertEquals(RingMembership.NO_RING, members[0].ringKey());
    assertEquals(RingMembership.NO_RING, members[1].ringKey());

    connect();
    // the tasks of ranks 0 and 1 landed on each other's executors
    assertEquals(List.of(false, false), both(r -> members[r].tryKeep(1 - r, 1, 0, SHORT_NS)));
    assertEquals(RingMembership.NO_RING, members[0].ringKey());
  }

  @Test
  void aLostPeerCostsTheShortTimeoutOnly() {
    members[1].close(); // its executor is gone
    members[1] = null;
    long t0 = System.nanoTime();
    assertFalse(members[0].tryKeep(0, 1, 0, SHORT_NS));
    double seconds = (System.nanoTime() - t0) / 1e9;
    assertTrue(seconds < 10, "gave up after " + seconds + " s");
    assertEquals(RingMembership.NO_RING, members[0].ringKey());
  }

  @Test
  void joinThroughTheSlowRendezvousThenKeepsTheRingAndServesTheTrainersCollectives() throws Exception {
    for (RingMembership m : members) {
      m.close();
    }
    for (int r = 0; r < 2; r++) {
      members[r] = RingMembership.open(new RingMembership.Options(2, Transport.IPC, "127.0.0.1", null, 65536,
          60_000, 0x5EC12E7L, null));
    }
    StageAllGather stage = new StageAllGather();
    // iteration 0: no ring yet, both fresh: a ring is connected through the stage's all-gather
    assertEquals(List.of(true, true), both(r -> members[r].join(r, 0, RingMembership.NONE_COMPLETED,
        "exec-" + r, stage.forRank(r))));
    assertThrows(IllegalStateException.class, () -> members[0].join(0, 0, 0, "exec-0", stage.forRank(0)),
        "one join per task");
    List<double[]> sums = both(r -> members[r].sum(new double[] {r + 1, 10}));
    assertArrayEquals(new double[] {3, 20}, sums.get(0));
    assertArrayEquals(sums.get(0), sums.get(1));
    assertTrue(members[0].takeElapsedNs() > 0, "time/sync counts the trainer's collectives");
    assertEquals(0, members[0].takeElapsedNs(), "and restarts");
    for (RingMembership m : members) {
      m.leave();
    }
    assertThrows(IllegalStateException.class, () -> members[0].sum(new double[] {1}),
        "no collectives outside a task");
    // iteration 1, both in step: the fast path keeps the ring, the stage's all-gather is not used
    assertEquals(List.of(false, false), both(r -> members[r].join(r, 1, 0, "exec-" + r, s -> {
      throw new AssertionError("the slow rendezvous ran");
    })));
  }

  /** What Spark's barrier allGather does for two tasks: every task gets every message, in rank order. */
  private static final class StageAllGather {
    private final String[] slots = new String[2];
    private final CyclicBarrier barrier = new CyclicBarrier(2);

    Function<String, String[]> forRank(int rank) {
      return mine -> {
        try {
          slots[rank] = mine;
          barrier.await(30, TimeUnit.SECONDS);
          String[] all = slots.clone();
          barrier.await(30, TimeUnit.SECONDS);
          return all;
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      };
    }
  }
}
