package ai.cory.worker.comm;

/**
 * How ring neighbours reach each other through Aeron.
 *
 * <p>{@link #UDP} works across hosts (one {@code host:port} per rank); {@link #IPC} works only
 * between clients of the same media driver, i.e. workers in one JVM or on one host sharing an
 * external driver, and addresses each rank by its stream id.
 */
public enum Transport {
  /** Aeron unicast UDP, {@code aeron:udp?endpoint=host:port}. */
  UDP("aeron:udp", "udp"),
  /** Aeron shared-memory IPC through the media driver's directory, {@code aeron:ipc}. */
  IPC("aeron:ipc", "ipc");

  private final String media;
  private final String scheme;

  Transport(final String media, final String scheme) {
    this.media = media;
    this.scheme = scheme;
  }

  /** The Aeron channel prefix, e.g. {@code aeron:udp}. */
  public String media() {
    return media;
  }

  /** The scheme of {@link Endpoint}'s string form, e.g. {@code udp}. */
  public String scheme() {
    return scheme;
  }
}
