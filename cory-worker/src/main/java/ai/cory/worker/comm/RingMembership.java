package ai.cory.worker.comm;

import ai.cory.common.config.RuntimeSettings.Transport;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Supplier;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A replica's membership in the Aeron ring of its run: which ring it is in, at which rank, how the
 * W tasks of an iteration meet before it, and the {@link Collective} the replica's trainer uses
 * (it forwards to the current ring and times itself for {@code time/sync}). A replica outlives
 * any one ring: the ring is rebuilt when the stage's tasks land on other replicas or ranks.
 *
 * <p>{@link #join} is the rendezvous at the start of every task:
 * <ol>
 *   <li><b>fast path</b>: when this replica is already in a ring, every member exchanges (its
 *       task's rank, its ring rank, its completed iteration, the iteration) over the ring itself,
 *       in microseconds. The ring is kept only when every member answers within
 *       {@value #FAST_RENDEZVOUS_TIMEOUT_MS} ms (capped by the collective timeout), runs this
 *       iteration at its ring rank and holds the previous iteration's state; every member sees
 *       the same answers, so all decide alike. Otherwise every member closes the ring;
 *   <li><b>slow path</b>: the caller's all-gather (Spark's barrier {@code allGather}, which polls
 *       once a second) exchanges each replica's endpoint, ring and completed iteration. All tasks
 *       see the same table and take the same decisions: fail together naming the replicas out of
 *       step, keep the ring when every replica is in it at its rank, or exchange fresh endpoints
 *       (a second all-gather) and connect a new ring.
 * </ol>
 * Nothing here knows Spark: the all-gather is a function. Used by one task at a time.
 */
public final class RingMembership implements Collective, AutoCloseable {
  /** Completed iteration of a replica fresh from theta_0 (or a checkpoint's predecessor state). */
  public static final long NONE_COMPLETED = -1;
  /** Ring key of a replica that is in no ring. */
  static final String NO_RING = "none";
  /** Longest wait for the ring peers on the fast path (capped by the collective timeout). */
  static final long FAST_RENDEZVOUS_TIMEOUT_MS = 30_000;
  private static final Logger LOG = LoggerFactory.getLogger(RingMembership.class);
  /** Stream ids of this JVM's memberships: distinct, so IPC rings sharing one driver do not mix. */
  private static final AtomicInteger NEXT_STREAM_ID = new AtomicInteger(0x4352_0000);
  private static final String FIELD_SEPARATOR = "\t";

  private final Options options;
  private final MediaDriverHolder mediaDriver; // null for a ring of one
  private Endpoint endpoint; // of the current ring, null when there is none
  private RingAllreduce ring;
  private String ringKey = NO_RING;
  private int lastRank = -1;
  private boolean inTask;
  private boolean closed;
  private long elapsedNs;

  /**
   * How a run's replicas reach each other.
   *
   * @param worldSize      W
   * @param transport      UDP or IPC (AUTO resolved by the driver)
   * @param bindHost       the address a UDP endpoint binds and advertises
   * @param aeronDirectory an external media driver's directory, or null for this JVM's embedded one
   * @param chunkBytes     payload of one ring message
   * @param timeoutMs      longest one collective may take
   * @param runToken       the run's secret ({@link RingConfig#runToken()}): rings of other runs,
   *                       and strangers, cannot feed this one
   * @param frameKey       the run's key to authenticate every message ({@link RingConfig#frameKey()}),
   *                       or null
   */
  public record Options(int worldSize, Transport transport, String bindHost, String aeronDirectory, int chunkBytes,
      long timeoutMs, long runToken, byte[] frameKey) {
    public Options {
      Objects.requireNonNull(transport, "transport");
      Objects.requireNonNull(bindHost, "bindHost");
      if (worldSize < 1 || transport == Transport.AUTO || timeoutMs <= 0) {
        throw new IllegalArgumentException("a ring needs W >= 1, UDP or IPC and a timeout > 0, got " + worldSize
            + ", " + transport + ", " + timeoutMs + " ms");
      }
    }
  }

  private RingMembership(Options options, MediaDriverHolder mediaDriver) {
    this.options = options;
    this.mediaDriver = mediaDriver;
  }

  /** A membership in no ring yet, holding a reference to this JVM's media driver when W > 1. */
  public static RingMembership open(Options options) {
    Objects.requireNonNull(options, "options");
    MediaDriverHolder driver = options.worldSize() == 1 ? null : MediaDriverHolder.acquire(
        options.aeronDirectory() == null ? MediaDriverSettings.embedded(MediaDriverSettings.Threading.SHARED)
            : MediaDriverSettings.external(options.aeronDirectory()));
    return new RingMembership(options, driver);
  }

  /**
   * The rendezvous before a task's iteration: afterwards this membership is in a ring with the
   * task's W-1 peers, at {@code rank}, and forwards the trainer's collectives to it until
   * {@link #leave()}.
   *
   * @param completedIteration the last iteration the replica's state includes
   * @param where              the replica's place for messages ({@code executor@host/replica-3})
   * @param allGather          the stage-wide exchange of one string per rank, in rank order
   * @return true when a new ring was connected (false: the ring was kept)
   * @throws IllegalStateException when a replica of the stage is out of step (every task throws)
   */
  public boolean join(int rank, long iteration, long completedIteration, String where,
      Function<String, String[]> allGather) {
    if (inTask) {
      throw new IllegalStateException("ring membership joined twice without leave()");
    }
    boolean connected = false;
    if (!tryKeep(rank, iteration, completedIteration, fastRendezvousTimeoutNs())) {
      List<Peer> peers = rendezvous(rank, completedIteration, where, allGather);
      requireInStep(iteration, peers);
      connected = !canReuseRing(peers);
      if (connected) {
        Endpoint mine = freshEndpoint();
        List<Endpoint> endpoints = new ArrayList<>();
        for (String e : allGather.apply(mine.toString())) {
          endpoints.add(Endpoint.parse(e));
        }
        connect(rank, endpoints);
      } else if (ring == null || rank != lastRank) {
        throw new IllegalStateException("cannot keep the ring as rank " + rank + " (ring " + ringKey + ", last rank "
            + lastRank + ")");
      }
    }
    inTask = true;
    return connected;
  }

  /** Ends the task: collectives fail until the next {@link #join}. The ring stays for reuse. */
  public void leave() {
    inTask = false;
  }

  /** Where this replica receives the traffic of its current ring; null when in none. */
  public Endpoint endpoint() {
    return endpoint;
  }

  /** The rank this membership had in its last ring, -1 before the first. */
  public int lastRank() {
    return lastRank;
  }

  /** Identity of the current ring ({@value #NO_RING} when none). */
  String ringKey() {
    return ringKey;
  }

  private long fastRendezvousTimeoutNs() {
    return TimeUnit.MILLISECONDS.toNanos(Math.min(FAST_RENDEZVOUS_TIMEOUT_MS, options.timeoutMs()));
  }

  /** The fast path: true when every member of the current ring is in step at its ring rank. */
  boolean tryKeep(int rank, long iteration, long completedIteration, long timeoutNs) {
    if (ring == null) {
      return false;
    }
    double[] all;
    try {
      all = ring.allGather(new double[] {rank, lastRank, completedIteration, iteration}, timeoutNs);
    } catch (RuntimeException e) {
      LOG.warn("ring {}: rendezvous for iteration {} failed, falling back to the barrier rendezvous: {}", ringKey,
          iteration, e.getMessage());
      closeRing();
      return false;
    }
    for (int r = 0; r < all.length / 4; r++) {
      boolean sameRank = all[4 * r] == all[4 * r + 1];
      boolean inStep = all[4 * r + 2] == iteration - 1 && all[4 * r + 3] == iteration;
      if (!sameRank || !inStep) {
        LOG.info("ring {}: member {} runs rank {} of iteration {} holding iteration {}: reconnecting", ringKey, r,
            (long) all[4 * r], (long) all[4 * r + 3], (long) all[4 * r + 2]);
        closeRing();
        return false;
      }
    }
    return true;
  }

  private List<Peer> rendezvous(int rank, long completedIteration, String where, Function<String, String[]> allGather) {
    Peer mine = new Peer(rank, endpoint, ringKey, completedIteration, where);
    String[] all = allGather.apply(mine.encode());
    if (all.length != options.worldSize()) {
      throw new IllegalStateException("barrier stage of " + all.length + " tasks, but cory.workers = "
          + options.worldSize());
    }
    List<Peer> peers = new ArrayList<>(all.length);
    for (int r = 0; r < all.length; r++) {
      peers.add(Peer.decode(r, all[r]));
    }
    return peers;
  }

  /**
   * Leaves the current ring and reserves a fresh endpoint (a new stream id, and a new UDP port)
   * for the next one. Never reusing an address keeps a new ring's subscriptions clear of images
   * of the old ring's publications, which may linger in the media driver for a while.
   */
  Endpoint freshEndpoint() {
    closeRing();
    int streamId = NEXT_STREAM_ID.incrementAndGet();
    endpoint = options.worldSize() == 1 || options.transport() == Transport.IPC
        ? Endpoint.ipc(streamId) // a ring of one sends nothing
        : Endpoint.freeLocalUdp(options.bindHost(), streamId);
    return endpoint;
  }

  /**
   * Connects this membership, listening on its {@link #freshEndpoint()}, to the ring over
   * {@code endpoints} as {@code rank}, and waits until every peer is connected.
   */
  void connect(int rank, List<Endpoint> endpoints) {
    Objects.requireNonNull(endpoints, "endpoints");
    if (endpoint == null || !endpoints.get(rank).equals(endpoint)) {
      throw new IllegalStateException("rank " + rank + " is " + endpoints.get(rank) + " but this replica listens on "
          + endpoint);
    }
    String key = ringKeyOf(endpoints);
    closeRing();
    ChannelTuning tuning = isLoopback(endpoints) ? ChannelTuning.loopback() : ChannelTuning.defaults();
    RingConfig config = new RingConfig(rank, endpoints, options.chunkBytes(),
        TimeUnit.MILLISECONDS.toNanos(options.timeoutMs()), IdleMode.BACKOFF, tuning, options.runToken(),
        options.frameKey());
    ring = RingAllreduce.connect(mediaDriver == null ? "" : mediaDriver.aeronDirectoryName(), config);
    ringKey = key;
    lastRank = rank;
    ring.barrier(); // every peer subscribed and reachable before the iteration starts
  }

  /** UDP endpoints all on one host: the loopback tuning (64 KiB frames) is safe there. */
  private static boolean isLoopback(List<Endpoint> endpoints) {
    String host = null;
    for (Endpoint e : endpoints) {
      if (e.transport() != Transport.UDP || host != null && !host.equals(e.host())) {
        return false;
      }
      host = e.host();
    }
    return host != null && (host.startsWith("127.") || host.equals("localhost") || host.equals("::1"));
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
   * True when every replica is in one ring, at the rank it has now: the ring over the current
   * endpoints in rank order is the ring each of them is in.
   */
  static boolean canReuseRing(List<Peer> peers) {
    List<Endpoint> endpoints = new ArrayList<>(peers.size());
    for (Peer p : peers) {
      if (p.endpoint() == null) {
        return false;
      }
      endpoints.add(p.endpoint());
    }
    String key = ringKeyOf(endpoints);
    return peers.stream().allMatch(p -> p.ringKey().equals(key));
  }

  /** Ends the message of a replica out of step: one was lost or reloaded since the last iteration. */
  public static final String REPLICA_RELOADED = "A replica is lost or reloaded when a task or executor "
      + "fails mid-run";

  /** Every replica must hold the state after iteration k-1; all tasks fail alike otherwise. */
  static void requireInStep(long iteration, List<Peer> peers) {
    long expected = iteration - 1;
    List<String> off = new ArrayList<>();
    for (Peer p : peers) {
      if (p.completedIteration() != expected) {
        off.add("rank " + p.rank() + " (" + p.where() + ") holds "
            + (p.completedIteration() == NONE_COMPLETED ? "the initial model"
                : "the state after iteration " + p.completedIteration()));
      }
    }
    if (!off.isEmpty()) {
      throw new IllegalStateException("iteration " + iteration + " needs every replica at the state after "
          + (expected < 0 ? "initialisation" : "iteration " + expected) + ", but " + String.join("; ", off)
          + ". " + REPLICA_RELOADED + "; restart the run from its last checkpoint.");
    }
  }

  /**
   * What a task tells its peers in the slow rendezvous.
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

  // ---- Collective: the trainer's calls, forwarded to the current ring and timed ----

  @Override
  public int worldSize() {
    return options.worldSize();
  }

  @Override
  public int rank() {
    return ring().rank();
  }

  @Override
  public double[] sum(double[] values) {
    return timed(() -> ring().sum(values));
  }

  @Override
  public double[] allGather(double[] values) {
    return timed(() -> ring().allGather(values));
  }

  @Override
  public void averageInPlace(INDArray flat) {
    timed(() -> {
      ring().averageInPlace(flat);
      return null;
    });
  }

  private <T> T timed(Supplier<T> collective) {
    long t0 = System.nanoTime();
    try {
      return collective.get();
    } finally {
      elapsedNs += System.nanoTime() - t0;
    }
  }

  @Override
  public long takeElapsedNs() {
    long t = elapsedNs;
    elapsedNs = 0;
    return t;
  }

  private RingAllreduce ring() {
    if (!inTask || ring == null) {
      throw new IllegalStateException("no ring joined: collectives run only inside an iteration task");
    }
    return ring;
  }

  private void closeRing() {
    if (ring != null) {
      ring.close();
      ring = null;
      ringKey = NO_RING;
    }
  }

  /** Leaves the ring and releases the media-driver reference. Idempotent. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    inTask = false;
    try {
      closeRing();
    } finally {
      if (mediaDriver != null) {
        mediaDriver.close();
      }
    }
  }
}
