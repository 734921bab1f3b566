package ai.cory.worker.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.worker.comm.Endpoint;
import ai.cory.worker.spark.IterationTask.Peer;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The decisions every task of a stage takes from the same rendezvous table. */
final class IterationTaskTest {
  private static final Endpoint E0 = Endpoint.udp("10.0.0.1", 40001, 7);
  private static final Endpoint E1 = Endpoint.udp("10.0.0.2", 40002, 8);

  private static Peer peer(int rank, Endpoint e, String ringKey, long completed) {
    return new Peer(rank, e, ringKey, completed, "exec-" + rank);
  }

  @Test
  void theRingIsKeptOnlyWhenEveryReplicaIsInItAtItsRank() {
    String ring = Replica.ringKeyOf(List.of(E0, E1));
    assertTrue(IterationTask.canReuseRing(List.of(peer(0, E0, ring, 3), peer(1, E1, ring, 3))));
    // the same two replicas with their ranks swapped: a different ring
    assertFalse(IterationTask.canReuseRing(List.of(peer(0, E1, ring, 3), peer(1, E0, ring, 3))));
    // a fresh replica (no ring yet) next to one that has a ring
    assertFalse(IterationTask.canReuseRing(List.of(peer(0, E0, ring, 3), peer(1, null, Replica.NO_RING, 3))));
    // a replica from another ring with the same peer
    String other = Replica.ringKeyOf(List.of(E0, Endpoint.udp("10.0.0.3", 40003, 9)));
    assertFalse(IterationTask.canReuseRing(List.of(peer(0, E0, other, 3), peer(1, E1, ring, 3))));
  }

  @Test
  void peersRoundTripThroughTheirRendezvousMessage() {
    Peer p = peer(1, E1, "abc", 12);
    assertEquals(p, Peer.decode(1, p.encode()));
    Peer fresh = peer(0, null, Replica.NO_RING, Replica.NONE_COMPLETED);
    assertEquals(fresh, Peer.decode(0, fresh.encode()));
  }

  @Test
  void aReplicaOutOfStepFailsEveryTaskNamingIt() {
    IterationTask.requireInStep(5, List.of(peer(0, E0, "k", 4), peer(1, E1, "k", 4)));
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> IterationTask.requireInStep(5,
        List.of(peer(0, E0, "k", 4), peer(1, null, Replica.NO_RING, Replica.NONE_COMPLETED))));
    assertTrue(e.getMessage().contains("rank 1 (exec-1) holds the initial model"), e.getMessage());
    assertTrue(e.getMessage().contains("state after iteration 4"), e.getMessage());
  }
}
