package ai.cory.worker.comm;

import java.io.Serializable;

/**
 * Per-channel Aeron parameters put into the channel URIs the ring creates, so they apply with an
 * embedded or an external media driver alike.
 *
 * <p>Defaults come from measurements on loopback (shared/design/STACK.md and {@link
 * AllreduceBench}): an 8 KiB UDP MTU and 4 MiB socket buffers / receiver window roughly triple UDP
 * throughput over Aeron's defaults (1408-byte MTU, 128 KiB window). Memory: each publication maps a
 * log of 3 terms, and with UDP each receiving rank maps another 3 terms.
 *
 * @param termLengthBytes publication term length ({@code term-length}); power of two in 64 KiB..1
 *     GiB. The largest message is min(term / 8, 16 MiB)
 * @param udpMtuBytes UDP frame size ({@code mtu}); multiple of 32 in 32..65504. Above the path MTU
 *     (1500 on most networks, 9000 with jumbo frames) the kernel fragments IP packets, which
 *     loopback tolerates and lossy networks do not
 * @param ipcMtuBytes IPC frame size ({@code mtu}); multiple of 32 in 32..65504
 * @param socketBufferBytes UDP {@code so-sndbuf} / {@code so-rcvbuf}; 0 keeps the driver's default.
 *     The kernel caps it at net.core.wmem_max / rmem_max
 * @param receiverWindowBytes UDP receiver window ({@code rcv-wnd}); 0 keeps the driver's default;
 *     should not exceed the socket receive buffer
 */
public record ChannelTuning(
    int termLengthBytes,
    int udpMtuBytes,
    int ipcMtuBytes,
    int socketBufferBytes,
    int receiverWindowBytes)
    implements Serializable {

  static final int MIN_TERM_LENGTH_BYTES = 64 * 1024;
  static final int MAX_TERM_LENGTH_BYTES = 1 << 30;
  static final int FRAME_ALIGNMENT_BYTES = 32;
  static final int MAX_MTU_BYTES = 65504;

  public ChannelTuning {
    if (termLengthBytes < MIN_TERM_LENGTH_BYTES
        || termLengthBytes > MAX_TERM_LENGTH_BYTES
        || Integer.bitCount(termLengthBytes) != 1) {
      throw new IllegalArgumentException(
          "termLengthBytes must be a power of two in 64 KiB..1 GiB, got " + termLengthBytes);
    }
    checkMtu("udpMtuBytes", udpMtuBytes);
    checkMtu("ipcMtuBytes", ipcMtuBytes);
    if (socketBufferBytes < 0 || receiverWindowBytes < 0) {
      throw new IllegalArgumentException(
          "socketBufferBytes and receiverWindowBytes must be >= 0 (0 = driver default), got %d, %d"
              .formatted(socketBufferBytes, receiverWindowBytes));
    }
  }

  /** Loopback / LAN defaults measured by {@link AllreduceBench}. */
  public static ChannelTuning defaults() {
    return new ChannelTuning(16 * 1024 * 1024, 8192, 65504, 4 * 1024 * 1024, 4 * 1024 * 1024);
  }

  /** Aeron's own defaults (1408-byte MTU, driver-default buffers), for comparison. */
  public static ChannelTuning aeronDefaults(final int termLengthBytes) {
    return new ChannelTuning(termLengthBytes, 1408, 1408, 0, 0);
  }

  private static void checkMtu(final String name, final int mtuBytes) {
    if (mtuBytes < FRAME_ALIGNMENT_BYTES
        || mtuBytes > MAX_MTU_BYTES
        || mtuBytes % FRAME_ALIGNMENT_BYTES != 0) {
      throw new IllegalArgumentException(
          name + " must be a multiple of 32 in 32..65504, got " + mtuBytes);
    }
  }
}
