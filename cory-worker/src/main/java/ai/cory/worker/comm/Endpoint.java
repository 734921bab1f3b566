package ai.cory.worker.comm;

import ai.cory.common.config.RuntimeSettings.Transport;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * Where one rank receives ring traffic: the address its subscription listens on.
 *
 * <p>String form (what peers exchange, e.g. through Spark's {@code BarrierTaskContext.allGather}):
 * {@code udp://HOST:PORT/STREAM} or {@code ipc://STREAM}; IPv6 hosts are written in brackets,
 * {@code udp://[::1]:40123/1001}. {@link #parse(String)} is the inverse of {@link #toString()}.
 *
 * @param transport UDP or IPC
 * @param host interface address the rank's subscription binds (UDP); empty for IPC
 * @param port UDP port, 1..65535; 0 for IPC
 * @param streamId Aeron stream id of the rank's subscription; with IPC every rank sharing a driver
 *     must use a distinct one
 */
public record Endpoint(Transport transport, String host, int port, int streamId)
    implements Serializable {
  private static final String UDP_SCHEME = "udp://";
  private static final String IPC_SCHEME = "ipc://";

  public Endpoint {
    Objects.requireNonNull(transport, "transport");
    Objects.requireNonNull(host, "host");
    if (transport == Transport.AUTO) {
      throw new IllegalArgumentException("an endpoint is UDP or IPC; AUTO is resolved before any endpoint exists");
    }
    if (transport == Transport.UDP) {
      if (host.isBlank()) {
        throw new IllegalArgumentException("UDP endpoint needs a host, got an empty one");
      }
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException("UDP endpoint port must be in 1..65535, got " + port);
      }
    } else if (!host.isEmpty() || port != 0) {
      throw new IllegalArgumentException(
          "IPC endpoint takes no host/port, got host='" + host + "' port=" + port);
    }
  }

  /** A UDP endpoint {@code host:port} with the given stream id. */
  public static Endpoint udp(final String host, final int port, final int streamId) {
    return new Endpoint(Transport.UDP, host, port, streamId);
  }

  /** An IPC endpoint identified by its stream id on the shared media driver. */
  public static Endpoint ipc(final int streamId) {
    return new Endpoint(Transport.IPC, "", 0, streamId);
  }

  /**
   * A UDP endpoint on {@code host} with a port the OS reported free just now. The port is released
   * before returning, so another process may take it before the subscription binds; the allreduce
   * then fails on construction with Aeron's bind error and the caller retries.
   */
  public static Endpoint freeLocalUdp(final String host, final int streamId) {
    return udp(host, freeUdpPort(host), streamId);
  }

  /** A UDP port on {@code host} that was free when asked (see {@link #freeLocalUdp}). */
  public static int freeUdpPort(final String host) {
    try (DatagramSocket socket =
        new DatagramSocket(new InetSocketAddress(InetAddress.getByName(host), 0))) {
      return socket.getLocalPort();
    } catch (final IOException e) {
      throw new UncheckedIOException(
          "cannot bind a UDP socket on host '" + host + "' to find a free port", e);
    }
  }

  /** {@code host:port} as Aeron's {@code endpoint=} parameter wants it (UDP only). */
  public String hostAndPort() {
    if (transport != Transport.UDP) {
      throw new IllegalStateException("an IPC endpoint has no host:port: " + this);
    }
    return host + ":" + port;
  }

  /** Parses the string form {@code udp://HOST:PORT/STREAM} or {@code ipc://STREAM}. */
  public static Endpoint parse(final String text) {
    Objects.requireNonNull(text, "text");
    final String ipcPrefix = IPC_SCHEME;
    final String udpPrefix = UDP_SCHEME;
    try {
      if (text.startsWith(ipcPrefix)) {
        return ipc(Integer.parseInt(text.substring(ipcPrefix.length())));
      }
      if (text.startsWith(udpPrefix)) {
        final String rest = text.substring(udpPrefix.length());
        final int slash = rest.lastIndexOf('/');
        final int colon = slash < 0 ? -1 : rest.lastIndexOf(':', slash);
        if (colon > 0) {
          return udp(
              rest.substring(0, colon),
              Integer.parseInt(rest.substring(colon + 1, slash)),
              Integer.parseInt(rest.substring(slash + 1)));
        }
      }
    } catch (final NumberFormatException e) {
      throw new IllegalArgumentException("bad number in endpoint '" + text + "'", e);
    }
    throw new IllegalArgumentException(
        "endpoint '" + text + "' is neither udp://HOST:PORT/STREAM nor ipc://STREAM");
  }

  @Override
  public String toString() {
    return transport == Transport.UDP
        ? UDP_SCHEME + host + ":" + port + "/" + streamId
        : IPC_SCHEME + streamId;
  }
}
