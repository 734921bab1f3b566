package ai.cory.worker.comm;

import java.io.Serializable;

/**
 * Per-channel Aeron parameters put into the channel URIs the ring creates, so they apply with an
 * embedded or an external media driver alike.
 *
 * <p>Values come from {@code bin/cory bench-comm} on loopback (2 cores, W = 2, 16 MiB buffers, 64 KiB
 * chunks): UDP with Aeron's defaults (1408-byte MTU, default socket buffers and window) moved 17-52
 * MiB/s, an 8 KiB MTU with 4 MiB socket buffers and window 62-111 MiB/s, a 64 KiB MTU 213-425
 * MiB/s; 64 MiB terms were slower than 16 MiB ones (more memory to touch, no gain in window).
 * Memory: each publication maps a log of 3 terms, and with UDP each receiving rank maps another 3
 * terms, so 96 MiB of the Aeron directory per rank with 16 MiB terms.
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

  /**
   * For a LAN: 16 MiB terms, an 8 KiB UDP MTU (one jumbo frame; six IP fragments on a 1500-byte
   * network, fine at LAN loss rates), 64 KiB IPC frames, 4 MiB socket buffers and window.
   */
  public static ChannelTuning defaults() {
    return new ChannelTuning(16 << 20, 8192, MAX_MTU_BYTES, 4 << 20, 4 << 20);
  }

  /**
   * For UDP between workers of one host: the loopback interface carries 64 KiB datagrams
   * unfragmented, so the largest MTU cuts the syscalls per byte eightfold against {@link
   * #defaults()}.
   */
  public static ChannelTuning loopback() {
    return new ChannelTuning(16 << 20, MAX_MTU_BYTES, MAX_MTU_BYTES, 4 << 20, 4 << 20);
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
