package ai.cory.worker.spark;

import ai.cory.common.checkpoint.Checkpoint;
import ai.cory.common.config.RuntimeSettings;
import ai.cory.worker.comm.Allreduce;
import ai.cory.worker.comm.ChannelTuning;
import ai.cory.worker.comm.Endpoint;
import ai.cory.worker.comm.IdleMode;
import ai.cory.worker.comm.MediaDriverHolder;
import ai.cory.worker.comm.MediaDriverSettings;
import ai.cory.worker.comm.RingAllreduce;
import ai.cory.worker.comm.RingConfig;
import ai.cory.worker.comm.Transport;
import ai.cory.worker.store.FileSources;
import ai.cory.worker.train.CoryTrainer;
import io.aeron.driver.ThreadingMode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.hadoop.conf.Configuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One executor-resident worker of a run: the pretrained model, both agents with their optimizer
 * state and scratch buffers ({@link CoryTrainer}), the Aeron endpoint it receives ring traffic on
 * and its current ring. Built once per executor (per concurrent task slot) from the run's
 * {@link ReplicaSpec} and reused by every iteration: nothing of it crosses Spark. Every replica
 * of a run holds the same state after each iteration, so any task may check out any replica.
 *
 * <p>Used by one task at a time ({@link ReplicaPool} hands it out).
 */
public final class Replica implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Replica.class);
  /** Stream ids of this JVM's replicas: distinct, so IPC rings sharing one driver do not mix. */
  private static final AtomicInteger NEXT_STREAM_ID = new AtomicInteger(0x4352_0000);
  /** Replica ids, for logs and reports. */
  private static final AtomicInteger NEXT_ID = new AtomicInteger();
  /** Iteration state of a replica fresh from theta_0. */
  public static final long NONE_COMPLETED = -1;
  /** Ring key of a replica that is in no ring. */
  static final String NO_RING = "none";

  private final int id = NEXT_ID.incrementAndGet();
  private final ReplicaSpec spec;
  private final WorkerAssets assets;
  private final RingCollective collective;
  private final CoryTrainer trainer;
  private final MediaDriverHolder mediaDriver;
  private final String host;
  private Endpoint endpoint;   // of the current ring, null when there is none
  private Allreduce ring;
  private String ringKey = NO_RING;
  private int lastRank = -1;
  private long completedIteration = NONE_COMPLETED;
  private int tasksStarted;

  private Replica(ReplicaSpec spec, WorkerAssets assets, MediaDriverHolder mediaDriver, String host) {
    this.spec = spec;
    this.assets = assets;
    this.mediaDriver = mediaDriver;
    this.host = host;
    this.collective = new RingCollective(spec.workers());
    this.trainer = new CoryTrainer(spec.settings(), assets.pretrained(), assets.tokenizer(), assets.reward(),
        collective);
  }

  /**
   * Loads a replica: reads the model named by the settings, builds both agents and takes a
   * reference to this JVM's media driver.
   *
   * @param host   this executor's address (UDP endpoints bind and advertise it unless the
   *               settings name one)
   * @param hadoop the FileSystem configuration of this executor
   */
  static Replica load(ReplicaSpec spec, String host, Configuration hadoop) throws IOException {
    long t0 = System.nanoTime();
    WorkerAssets assets = WorkerAssets.load(spec.settings(), hadoop);
    MediaDriverHolder driver = null;
    Checkpoint resume;
    Replica replica;
    try {
      RuntimeSettings runtime = spec.runtime();
      resume = spec.resumeFrom() == null ? null
          : Checkpoint.open(FileSources.open(spec.resumeFrom(), hadoop)); // verifies every checksum
      if (spec.workers() > 1) {
        driver = MediaDriverHolder.acquire(runtime.aeronDirectory() == null
            ? MediaDriverSettings.embedded(ThreadingMode.SHARED) : MediaDriverSettings.external(runtime.aeronDirectory()));
      }
      replica = new Replica(spec, assets, driver, host);
    } catch (IOException | RuntimeException e) {
      if (driver != null) {
        driver.close();
      }
      assets.close();
      throw e;
    }
    if (resume != null) {
      try {
        ReplicaCheckpoints.restore(replica.trainer, spec.settings(), resume);
      } catch (IOException | RuntimeException e) {
        replica.close();
        throw e;
      }
      replica.completedIteration = resume.iteration() - 1;
    }
    LOG.info("replica {} of run {} loaded in {} s{}", replica.id, spec.runId(),
        String.format("%.2f", (System.nanoTime() - t0) / 1e9),
        resume == null ? "" : ", resumed from " + resume.location());
    return replica;
  }

  /** Id of this replica within its JVM (logs). */
  public int id() {
    return id;
  }

  /** The run this replica belongs to. */
  public ReplicaSpec spec() {
    return spec;
  }

  /** The agents, reference and PPO machinery. */
  public CoryTrainer trainer() {
    return trainer;
  }

  /** Where this replica receives the traffic of its current ring; null when in none. */
  public Endpoint endpoint() {
    return endpoint;
  }

  /** The rank this replica had in its last task, -1 before the first. */
  int lastRank() {
    return lastRank;
  }

  /**
   * Leaves the current ring and reserves a fresh endpoint (a new stream id, and a new UDP port)
   * for the next one. Never reusing an address keeps a new ring's subscriptions clear of
   * images of the old ring's publications, which may linger in the media driver for a while.
   */
  Endpoint freshEndpoint() {
    closeRing();
    int streamId = NEXT_STREAM_ID.incrementAndGet();
    if (spec.workers() == 1 || spec.transport() == Transport.IPC) {
      endpoint = Endpoint.ipc(streamId); // a ring of one sends nothing
    } else {
      endpoint = Endpoint.freeLocalUdp(spec.bindAddress() != null ? spec.bindAddress() : host, streamId);
    }
    return endpoint;
  }

  /** Last iteration this replica's state includes, {@link #NONE_COMPLETED} when fresh. */
  public long completedIteration() {
    return completedIteration;
  }

  /** Counts a task starting on this replica; returns how many started before (0: just loaded). */
  int startTask() {
    return tasksStarted++;
  }

  void markCompleted(long iteration) {
    completedIteration = iteration;
  }

  /** Identity of the ring this replica is wired into ({@code none} before the first). */
  String ringKey() {
    return ringKey;
  }

  /** The identity of a ring over {@code endpoints} (rank r = index r). */
  static String ringKeyOf(List<Endpoint> endpoints) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      for (Endpoint e : endpoints) {
        sha.update(e.toString().getBytes(StandardCharsets.UTF_8));
        sha.update((byte) '\n');
      }
      return HexFormat.of().formatHex(sha.digest(), 0, 12);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 missing from the JVM", e);
    }
  }

  /**
   * The fast rendezvous at the start of iteration {@code iteration}: when this replica is in a
   * ring, every member exchanges (its task's rank, its ring rank, its completed iteration, the
   * iteration) over the ring itself, in microseconds, instead of through Spark's barrier
   * {@code allGather} (which polls once a second). The ring is put back to work only when every
   * member answers within {@code timeoutNs}, runs this iteration at its ring rank and holds the
   * state after the previous iteration; every member sees the same answers, so all decide alike.
   * Otherwise (no ring, a lost or remapped peer, a replica out of step) the ring is closed and
   * the caller falls back to the barrier rendezvous, which rebuilds the ring or fails the run
   * with the peers named.
   *
   * @return true when the ring was reused
   */
  boolean tryReuseRing(int rank, long iteration, long timeoutNs) {
    if (ring == null) {
      return false;
    }
    double[] all;
    try {
      all = ring.allGather(new double[] {rank, lastRank, completedIteration, iteration}, timeoutNs);
    } catch (RuntimeException e) {
      LOG.warn("replica {}: ring rendezvous for iteration {} failed, falling back to the barrier rendezvous: {}",
          id, iteration, e.getMessage());
      closeRing();
      return false;
    }
    for (int r = 0; r < all.length / 4; r++) {
      boolean sameRank = all[4 * r] == all[4 * r + 1];
      boolean inStep = all[4 * r + 2] == iteration - 1 && all[4 * r + 3] == iteration;
      if (!sameRank || !inStep) {
        LOG.info("replica {}: ring member {} runs rank {} of iteration {} holding iteration {}: reconnecting",
            id, r, (long) all[4 * r], (long) all[4 * r + 3], (long) all[4 * r + 2]);
        closeRing();
        return false;
      }
    }
    collective.bind(ring);
    return true;
  }

  /** Puts the current ring back to work for a task of the same rank. */
  void reuseRing(int rank) {
    if (ring == null || rank != lastRank) {
      throw new IllegalStateException("replica " + id + " cannot reuse its ring as rank " + rank + " (ring "
          + ringKey + ", last rank " + lastRank + ")");
    }
    collective.bind(ring);
  }

  /**
   * Connects this replica, listening on its {@link #freshEndpoint()}, to the ring over
   * {@code endpoints} as {@code rank}, and waits until every peer is connected.
   */
  void joinRing(int rank, List<Endpoint> endpoints) {
    Objects.requireNonNull(endpoints, "endpoints");
    if (endpoint == null || !endpoints.get(rank).equals(endpoint)) {
      throw new IllegalStateException("rank " + rank + " is " + endpoints.get(rank) + " but this replica listens on "
          + endpoint);
    }
    String key = ringKeyOf(endpoints);
    closeRing();
    RuntimeSettings runtime = spec.runtime();
    ChannelTuning tuning = isLoopback(endpoints) ? ChannelTuning.loopback() : ChannelTuning.defaults();
    RingConfig config = new RingConfig(rank, endpoints, runtime.chunkBytes(),
        TimeUnit.MILLISECONDS.toNanos(runtime.collectiveTimeoutMs()), IdleMode.BACKOFF, tuning);
    ring = RingAllreduce.connect(mediaDriver == null ? "" : mediaDriver.aeronDirectoryName(), config);
    ringKey = key;
    lastRank = rank;
    collective.bind(ring);
    ring.barrier(); // every peer subscribed and reachable before the iteration starts
  }

  /** UDP endpoints all on one host: the loopback tuning (64 KiB frames) is safe there. */
  private static boolean isLoopback(List<Endpoint> endpoints) {
    String host = null;
    for (Endpoint e : endpoints) {
      if (e.transport() != Transport.UDP) {
        return false;
      }
      if (host != null && !host.equals(e.host())) {
        return false;
      }
      host = e.host();
    }
    return host != null && (host.startsWith("127.") || host.equals("localhost") || host.equals("::1"));
  }

  /** Unbinds the ring from the trainer after a task. */
  void leaveTask() {
    collective.bind(null);
  }

  private void closeRing() {
    collective.bind(null);
    if (ring != null) {
      ring.close();
      ring = null;
      ringKey = NO_RING;
    }
  }

  /** Frees the ring, the media-driver reference, the trainer's buffers and the assets. */
  @Override
  public void close() {
    try {
      closeRing();
    } finally {
      try {
        trainer.close();
      } finally {
        try {
          if (mediaDriver != null) {
            mediaDriver.close();
          }
        } finally {
          assets.close();
        }
      }
    }
    LOG.info("replica {} of run {} closed", id, spec.runId());
  }
}
