package ai.cory.worker.spark;

import ai.cory.common.cory.IterationPlan;
import ai.cory.common.io.FileSource;
import ai.cory.common.model.DemoModel;
import ai.cory.worker.comm.Endpoint;
import ai.cory.worker.store.CheckpointStore;
import ai.cory.worker.store.FileSources;
import ai.cory.worker.store.PendingCheckpoint;
import java.io.IOException;
import org.apache.hadoop.conf.Configuration;
import ai.cory.worker.train.IterationReport;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.apache.spark.BarrierTaskContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The executor side of one iteration: what each of the W tasks of the iteration's barrier stage
 * runs on its query shard.
 * <ol>
 *   <li>check out this executor's resident {@link Replica} of the run (loading it on first use);
 *   <li>when the replica is already in a ring: the fast rendezvous over the ring itself
 *       ({@link Replica#tryReuseRing}); if every member runs this iteration at its ring rank and
 *       is in step, the ring is kept and the next step is skipped. Spark's barrier
 *       {@code allGather} polls once a second, so this saves about a second per iteration;
 *   <li>otherwise exchange with the W-1 peers, through {@link BarrierTaskContext#allGather}, each
 *       replica's current Aeron endpoint, ring and completed iteration; all tasks see the same
 *       table and so take the same decisions: fail together when a replica is out of step
 *       (e.g. fresh after a failure), keep the ring when every replica is already in it at
 *       its rank, otherwise exchange fresh endpoints (a second {@code allGather}) and connect a
 *       new ring;
 *   <li>run the iteration ({@code CoryTrainer.runIteration}): rollouts, rewards, PPO steps with
 *       gradients and batch statistics averaged over the ring, identical optimizer steps;
 *   <li>fingerprint the replica's state when asked; rank 0 writes a checkpoint when asked
 *       (the driver commits it after the stage succeeded); return a {@link TaskReport}.
 * </ol>
 * A replica whose task fails mid-iteration is discarded. Static code holding only Serializable
 * records (ARCHITECTURE.md decision 8).
 *
 * @param spec       the run's replica spec
 * @param plan       the iteration's plan (identical for every task)
 * @param verify     whether to fingerprint the replicas after this iteration
 * @param checkpoint what rank 0 checkpoints after this iteration, or null
 */
public record IterationTask(ReplicaSpec spec, IterationPlan plan, boolean verify, CheckpointRequest checkpoint)
    implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(IterationTask.class);
  private static final String FIELD_SEPARATOR = "\t";
  /** Longest wait for the ring peers in the fast rendezvous (capped by the collective timeout). */
  private static final long RING_RENDEZVOUS_TIMEOUT_MS = 30_000;

  public IterationTask {
    Objects.requireNonNull(spec, "spec");
    Objects.requireNonNull(plan, "plan");
  }

  /** Runs the task on this barrier partition's only element. */
  public TaskReport run(BarrierTaskContext context, QueryShard shard) throws Exception {
    long t0 = System.nanoTime();
    int rank = context.partitionId();
    if (shard.rank() != rank) {
      throw new IllegalStateException("partition " + rank + " received the shard of rank " + shard.rank());
    }
    String host = ExecutorEnvironment.host();
    Replica replica = ReplicaPool.checkout(spec, rank, host, ExecutorEnvironment.hadoopConfiguration());
    boolean loaded = replica.startTask() == 0;
    boolean healthy = false;
    try {
      boolean connected = false;
      if (!replica.tryReuseRing(rank, plan.iteration(), ringRendezvousTimeoutNs())) {
        List<Peer> peers = rendezvous(context, replica);
        requireInStep(plan.iteration(), peers);
        connected = !canReuseRing(peers);
        if (connected) {
          replica.freshEndpoint();
          String[] fresh = context.allGather(replica.endpoint().toString());
          List<Endpoint> endpoints = new ArrayList<>(fresh.length);
          for (String e : fresh) {
            endpoints.add(Endpoint.parse(e));
          }
          replica.joinRing(rank, endpoints);
        } else {
          replica.reuseRing(rank);
        }
      }
      long t1 = System.nanoTime();
      IterationReport report = replica.trainer().runIteration(plan, shard.taskPrompts(), shard.firstGlobalRow());
      replica.markCompleted(plan.iteration());
      ReplicaChecksum checksum = verify ? ReplicaChecksum.of(plan.iteration(), replica.trainer()) : null;
      long tc = System.nanoTime();
      PendingCheckpoint written = checkpoint != null && rank == 0 ? writeCheckpoint(replica) : null;
      long t2 = System.nanoTime();
      healthy = true;
      return new TaskReport(rank, ExecutorEnvironment.executorId(), host, replica.id(), replica.endpoint().toString(),
          report, checksum, loaded, connected, (t1 - t0) / 1e9, (t2 - t1) / 1e9, written,
          (t2 - tc) / 1e9);
    } finally {
      replica.leaveTask();
      if (healthy) {
        ReplicaPool.checkin(replica);
      } else {
        LOG.warn("iteration {} rank {}: task failed, discarding replica {}", plan.iteration(), rank, replica.id());
        ReplicaPool.discard(replica);
      }
    }
  }

  /** Rank 0: the replica's state after this iteration, written to the run's checkpoint store. */
  private PendingCheckpoint writeCheckpoint(Replica replica) throws IOException {
    Configuration hadoop = ExecutorEnvironment.hadoopConfiguration();
    String model = spec.settings().model().path();
    FileSource companions = DemoModel.isDemo(model) ? null : FileSources.open(model, hadoop);
    CheckpointStore store = new CheckpointStore(checkpoint.store(), hadoop, checkpoint.keepLast());
    return store.write(ReplicaCheckpoints.contents(replica.trainer(), spec.settings(), plan.iteration() + 1,
        checkpoint, companions));
  }

  /**
   * What a task tells its peers before the iteration.
   *
   * @param endpoint the replica's current ring endpoint, null when it is in no ring
   */
  record Peer(int rank, Endpoint endpoint, String ringKey, long completedIteration, String where) {
    private static final String NONE = "-";

    String encode() {
      return String.join(FIELD_SEPARATOR, endpoint == null ? NONE : endpoint.toString(), ringKey,
          Long.toString(completedIteration), where);
    }

    static Peer decode(int rank, String text) {
      String[] f = text.split(FIELD_SEPARATOR, -1);
      if (f.length != 4) {
        throw new IllegalStateException("malformed rendezvous message from rank " + rank + ": '" + text + "'");
      }
      return new Peer(rank, f[0].equals(NONE) ? null : Endpoint.parse(f[0]), f[1], Long.parseLong(f[2]), f[3]);
    }
  }

  /**
   * True when every replica is in one ring, at the rank it has now: the ring over the current
   * endpoints in rank order is the ring each of them is in.
   */
  /**
   * How long replicas wait for their ring peers in the fast rendezvous before falling back to
   * the barrier one: the barrier stage launches its tasks together, so healthy peers arrive within
   * moments; a lost peer costs this once before the run fails or the ring is rebuilt.
   */
  private long ringRendezvousTimeoutNs() {
    return java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(
        Math.min(RING_RENDEZVOUS_TIMEOUT_MS, spec.runtime().collectiveTimeoutMs()));
  }

  static boolean canReuseRing(List<Peer> peers) {
    List<Endpoint> endpoints = new ArrayList<>(peers.size());
    for (Peer p : peers) {
      if (p.endpoint() == null) {
        return false;
      }
      endpoints.add(p.endpoint());
    }
    String key = Replica.ringKeyOf(endpoints);
    return peers.stream().allMatch(p -> p.ringKey().equals(key));
  }

  private List<Peer> rendezvous(BarrierTaskContext context, Replica replica) {
    String where = ExecutorEnvironment.executorId() + "@" + ExecutorEnvironment.host() + "/replica-" + replica.id();
    Peer mine = new Peer(context.partitionId(), replica.endpoint(), replica.ringKey(), replica.completedIteration(),
        where);
    String[] all = context.allGather(mine.encode());
    List<Peer> peers = new ArrayList<>(all.length);
    for (int r = 0; r < all.length; r++) {
      peers.add(Peer.decode(r, all[r]));
    }
    if (peers.size() != spec.workers()) {
      throw new IllegalStateException("barrier stage of " + peers.size() + " tasks, but cory.workers = "
          + spec.workers());
    }
    return peers;
  }

  /** Every replica must hold the state after iteration k-1; all tasks fail alike otherwise. */
  static void requireInStep(long iteration, List<Peer> peers) {
    long expected = iteration - 1;
    List<String> off = new ArrayList<>();
    for (Peer p : peers) {
      if (p.completedIteration() != expected) {
        off.add("rank " + p.rank() + " (" + p.where() + ") holds "
            + (p.completedIteration() == Replica.NONE_COMPLETED ? "the initial model"
                : "the state after iteration " + p.completedIteration()));
      }
    }
    if (!off.isEmpty()) {
      throw new IllegalStateException("iteration " + iteration + " needs every replica at the state after "
          + (expected < 0 ? "initialisation" : "iteration " + expected) + ", but " + String.join("; ", off)
          + ". A replica is lost or reloaded when a task or executor fails mid-run; restart the run from its "
          + "last checkpoint.");
    }
  }
}
