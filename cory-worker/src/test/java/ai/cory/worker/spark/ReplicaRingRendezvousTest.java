package ai.cory.worker.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.config.Settings;
import ai.cory.worker.comm.Endpoint;
import ai.cory.worker.comm.Transport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Replica#tryReuseRing}, the fast rendezvous over the ring: two real replicas of the
 * built-in demo model on an Aeron IPC ring in this JVM. The ring is kept only when every member
 * runs the iteration at its ring rank and holds the previous iteration's state; otherwise every
 * member closes it alike (so all fall back to the barrier rendezvous), and a lost peer costs the
 * short timeout, not the collective one.
 */
final class ReplicaRingRendezvousTest {
  private static final long SHORT_NS = TimeUnit.MILLISECONDS.toNanos(700);
  private final ExecutorService pool = Executors.newFixedThreadPool(2);
  private final Replica[] replicas = new Replica[2];

  @TempDir
  Path tmp;

  @BeforeEach
  void twoReplicasInARing() throws Exception {
    Path words = tmp.resolve("words.tsv");
    Files.writeString(words, "#bias\t0.0\ngood\t1.0\nbad\t-1.0\n");
    Settings settings = Settings.parse("cory.model.path = demo\ncory.task.data = unused.jsonl\n"
        + "cory.reward.path = \"" + words + "\"\ncory.workers = 2\n"
        + "cory.ppo { batch-size = 4, mini-batch-size = 4 }\ncory.runtime.collective-timeout = 60s\n");
    ReplicaSpec spec = new ReplicaSpec("rendezvous-test", settings, Transport.IPC, null, null);
    for (int r = 0; r < 2; r++) {
      replicas[r] = Replica.load(spec, "127.0.0.1", new Configuration());
    }
    connect();
  }

  @AfterEach
  void close() {
    pool.shutdownNow();
    for (Replica r : replicas) {
      if (r != null) {
        r.close();
      }
    }
  }

  private void connect() throws Exception {
    List<Endpoint> endpoints = List.of(replicas[0].freshEndpoint(), replicas[1].freshEndpoint());
    both(r -> {
      replicas[r].joinRing(r, endpoints);
      replicas[r].leaveTask();
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

  @Test
  void theRingIsKeptWhenEveryMemberIsInStepAtItsRank() throws Exception {
    for (Replica r : replicas) {
      r.markCompleted(0);
    }
    String key = replicas[0].ringKey();
    assertEquals(List.of(true, true), both(r -> replicas[r].tryReuseRing(r, 1, SHORT_NS)));
    assertEquals(key, replicas[1].ringKey(), "same ring");
    for (Replica r : replicas) {
      r.leaveTask();
      r.markCompleted(1);
    }
    assertEquals(List.of(true, true), both(r -> replicas[r].tryReuseRing(r, 2, SHORT_NS)), "and again");
  }

  @Test
  void everyMemberLetsGoWhenOneIsOutOfStepOrTheRanksMoved() throws Exception {
    replicas[0].markCompleted(0);
    replicas[1].markCompleted(Replica.NONE_COMPLETED); // e.g. reloaded after a failure
    assertEquals(List.of(false, false), both(r -> replicas[r].tryReuseRing(r, 1, SHORT_NS)));
    assertEquals(Replica.NO_RING, replicas[0].ringKey());
    assertEquals(Replica.NO_RING, replicas[1].ringKey());

    connect();
    for (Replica r : replicas) {
      r.markCompleted(0);
    }
    // the tasks of ranks 0 and 1 landed on each other's executors
    assertEquals(List.of(false, false), both(r -> replicas[r].tryReuseRing(1 - r, 1, SHORT_NS)));
    assertEquals(Replica.NO_RING, replicas[0].ringKey());
  }

  @Test
  void aLostPeerCostsTheShortTimeoutOnly() throws Exception {
    replicas[0].markCompleted(0);
    replicas[1].close(); // its executor is gone
    replicas[1] = null;
    long t0 = System.nanoTime();
    assertFalse(replicas[0].tryReuseRing(0, 1, SHORT_NS));
    double seconds = (System.nanoTime() - t0) / 1e9;
    assertTrue(seconds < 10, "gave up after " + seconds + " s");
    assertEquals(Replica.NO_RING, replicas[0].ringKey());
  }
}
