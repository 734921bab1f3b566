package ai.cory.worker.comm;

import ai.cory.common.config.RuntimeSettings.Transport;
import java.io.Serializable;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Everything one rank needs to join a ring allreduce.
 *
 * @param rank this worker's position in {@code endpoints}, 0-based
 * @param endpoints one receive endpoint per rank, indexed by rank, identical on every rank; all of
 *     one {@link Transport}. The world size is its length
 * @param chunkBytes largest payload of one Aeron message; the effective size is also capped by the
 *     publication's max message length (min(term / 8, 16 MiB)) minus the message header. Smaller
 *     chunks pipeline the ring more finely
 * @param timeoutNs limit on one collective call, from entry to completion, including the wait for
 *     the slowest peer to arrive; size it for the largest buffer
 * @param idleMode what the calling thread does while waiting on neighbours
 * @param tuning Aeron channel parameters
 * @param runToken a secret of the run, identical on every rank and unknown outside it: every
 *     message carries it, and each rank's Aeron session id is derived from it ({@link
 *     #sessionId(int)}), so a receiver drops (and counts) frames of any other session or token:
 *     another run's or a stranger's traffic to its port is never summed into a gradient
 * @param frameKey the run's secret key for authenticated messages ({@link FrameMac}), or null
 *     to send them without a tag (networks only the cluster reaches)
 */
public record RingConfig(
    int rank,
    List<Endpoint> endpoints,
    int chunkBytes,
    long timeoutNs,
    IdleMode idleMode,
    ChannelTuning tuning,
    long runToken,
    byte[] frameKey)
    implements Serializable {

  /**
   * A good {@code chunkBytes} on loopback and LAN ({@code bin/cory bench-comm}): small enough that a
   * rank forwards data while the rest of a segment is still arriving, large enough that the
   * per-message cost is negligible.
   */
  public static final int DEFAULT_CHUNK_BYTES = 64 * 1024;

  /** Smallest accepted {@code chunkBytes}: below this the message header dominates. */
  public static final int MIN_CHUNK_BYTES = 256;

  public RingConfig {
    Objects.requireNonNull(idleMode, "idleMode");
    Objects.requireNonNull(tuning, "tuning");
    endpoints = List.copyOf(Objects.requireNonNull(endpoints, "endpoints"));
    if (endpoints.isEmpty()) {
      throw new IllegalArgumentException("endpoints must list one endpoint per rank, got none");
    }
    if (rank < 0 || rank >= endpoints.size()) {
      throw new IllegalArgumentException(
          "rank must be in 0..%d for %d endpoints, got %d"
              .formatted(endpoints.size() - 1, endpoints.size(), rank));
    }
    final Transport transport = endpoints.get(0).transport();
    final Set<String> seen = new HashSet<>();
    for (int r = 0; r < endpoints.size(); r++) {
      final Endpoint endpoint = endpoints.get(r);
      if (endpoint.transport() != transport) {
        throw new IllegalArgumentException(
            "all endpoints must use " + transport + ", rank " + r + " has " + endpoint);
      }
      // Two ranks on one address would receive each other's traffic.
      final String address =
          transport == Transport.IPC
              ? Integer.toString(endpoint.streamId())
              : endpoint.hostAndPort();
      if (!seen.add(address)) {
        throw new IllegalArgumentException(
            "rank %d reuses the address of an earlier rank: %s (endpoints: %s)"
                .formatted(r, endpoint, endpoints));
      }
    }
    if (chunkBytes < MIN_CHUNK_BYTES) {
      throw new IllegalArgumentException(
          "chunkBytes must be >= " + MIN_CHUNK_BYTES + ", got " + chunkBytes);
    }
    if (timeoutNs <= 0) {
      throw new IllegalArgumentException("timeoutNs must be > 0, got " + timeoutNs);
    }
    if (frameKey != null && frameKey.length < 16) {
      throw new IllegalArgumentException("frameKey must have at least 16 bytes, got " + frameKey.length);
    }
  }

  /**
   * A ring in one process (tests, benchmarks): run token 0. Rings of a training run use the run's
   * random token.
   */
  public RingConfig(
      int rank,
      List<Endpoint> endpoints,
      int chunkBytes,
      long timeoutNs,
      IdleMode idleMode,
      ChannelTuning tuning) {
    this(rank, endpoints, chunkBytes, timeoutNs, idleMode, tuning, 0L, null);
  }


  /**
   * The Aeron session id of rank {@code r}'s publication (to its right neighbour): a function of
   * the run token, the receiver's stream id and r, so both ends know it without an exchange and
   * nobody without the token can predict it.
   */
  public int sessionId(final int r) {
    final Endpoint receiver = endpoints.get((r + 1) % worldSize());
    long z = runToken ^ (0x9E3779B97F4A7C15L * (receiver.streamId() + 1L)) ^ (0xC2B2AE3D27D4EB4FL * (r + 1L));
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return (int) (z ^ (z >>> 31));
  }

  /** Number of ranks in the ring. */
  public int worldSize() {
    return endpoints.size();
  }

  /** Transport shared by all endpoints. */
  public Transport transport() {
    return endpoints.get(0).transport();
  }

  /** The rank this one receives from. */
  public int leftRank() {
    return (rank - 1 + worldSize()) % worldSize();
  }

  /** The rank this one sends to. */
  public int rightRank() {
    return (rank + 1) % worldSize();
  }
}
