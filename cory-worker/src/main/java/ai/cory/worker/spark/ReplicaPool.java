package ai.cory.worker.spark;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This JVM's resident replicas, kept across iterations (ARCHITECTURE.md: models, optimizer state
 * and scratch buffers are loaded once per executor). A task {@link #checkout checks out} an idle
 * replica of its run, or loads a new one when all are busy (in {@code local[N]} the N workers
 * of one stage are N threads of one JVM, so N replicas live here); it {@link #checkin checks it
 * back in} after a successful iteration and {@link #discard discards} it after a failure, since a
 * half-done iteration leaves it out of step with its peers.
 *
 * <p>A JVM serves one run at a time: checking out for a new run closes the idle replicas of any
 * other. Thread-safe.
 */
public final class ReplicaPool {
  private static final Logger LOG = LoggerFactory.getLogger(ReplicaPool.class);
  private static final Object LOCK = new Object();
  private static final Deque<Replica> IDLE = new ArrayDeque<>(); // guarded by LOCK
  private static String runId;                                    // guarded by LOCK

  private ReplicaPool() {}

  /**
   * An idle replica of {@code spec}'s run, preferably the one that last served {@code rank} (so
   * its ring can be kept), or a newly loaded one.
   *
   * @param host   this executor's host (for UDP endpoints)
   * @param hadoop FileSystem configuration used when a replica must be loaded
   */
  public static Replica checkout(ReplicaSpec spec, int rank, String host, Configuration hadoop) throws IOException {
    List<Replica> stale = new ArrayList<>();
    Replica idle;
    synchronized (LOCK) {
      if (!spec.runId().equals(runId)) {
        stale.addAll(IDLE);
        IDLE.clear();
        runId = spec.runId();
      }
      idle = takeFor(rank);
    }
    closeAll(stale, "of an earlier run");
    return idle != null ? idle : Replica.load(spec, host, hadoop);
  }

  private static Replica takeFor(int rank) {
    for (Iterator<Replica> it = IDLE.iterator(); it.hasNext(); ) {
      Replica r = it.next();
      if (r.ring().lastRank() == rank) {
        it.remove();
        return r;
      }
    }
    return IDLE.pollFirst();
  }

  /** Returns a replica whose iteration completed: the next task may take it. */
  public static void checkin(Replica replica) {
    synchronized (LOCK) {
      if (replica.spec().runId().equals(runId)) {
        IDLE.addFirst(replica);
        return;
      }
    }
    closeAll(List.of(replica), "of a released run");
  }

  /** Drops a replica whose state can no longer be trusted (its task failed mid-iteration). */
  public static void discard(Replica replica) {
    closeAll(List.of(replica), "after a failed task");
  }

  /** Closes every idle replica of {@code runToRelease}; busy ones close when checked in. */
  public static int release(String runToRelease) {
    List<Replica> closing;
    synchronized (LOCK) {
      if (!runToRelease.equals(runId)) {
        return 0;
      }
      closing = new ArrayList<>(IDLE);
      IDLE.clear();
      runId = null;
    }
    closeAll(closing, "at the end of the run");
    return closing.size();
  }

  private static void closeAll(List<Replica> replicas, String why) {
    for (Replica r : replicas) {
      try {
        r.close();
      } catch (RuntimeException e) {
        LOG.warn("closing replica {} {} failed", r.id(), why, e);
      }
    }
  }
}
