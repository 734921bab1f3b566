package ai.cory.worker.comm;

import java.nio.ByteOrder;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * The 64-byte header in front of every ring message's payload, little-endian. It lets the receiver
 * check that a message belongs to the run ({@code runToken}), and to the operation, step and byte
 * range it expects, so ranks that fall out of step fail loudly instead of summing the wrong data.
 *
 * <pre>
 *   0  long opSeq        operation number on this instance, 1-based
 *   8  long totalBytes   size of the operation's whole buffer
 *  16  long offsetBytes  where the payload goes in that buffer
 *  24  int  kind         {@link OpKind#code()}
 *  28  int  step         ring step 0..2(W-1)-1
 *  32  int  senderRank
 *  36  int  payloadBytes bytes of payload following the header (across Aeron fragments)
 *  40  long runToken     the run's token ({@link RingConfig#runToken()})
 *  48  16 bytes tag      HMAC-SHA256 of bytes 0..47 and the payload, truncated ({@link FrameMac});
 *                        zeros when messages are not authenticated
 * </pre>
 *
 * 64 is a multiple of 8, and Aeron fragments carry multiples of 32 bytes, so no float or double of
 * the payload straddles two fragments.
 */
final class MessageHeader {
  static final int LENGTH = 64;
  /** Where the authentication tag starts; the bytes before it are what it covers of the header. */
  static final int TAG_OFFSET = 48;
  private static final int OP_SEQ_OFFSET = 0;
  private static final int TOTAL_BYTES_OFFSET = 8;
  private static final int OFFSET_BYTES_OFFSET = 16;
  private static final int KIND_OFFSET = 24;
  private static final int STEP_OFFSET = 28;
  private static final int SENDER_RANK_OFFSET = 32;
  private static final int PAYLOAD_BYTES_OFFSET = 36;
  private static final int RUN_TOKEN_OFFSET = 40;
  private static final ByteOrder ORDER = ByteOrder.LITTLE_ENDIAN;

  /** Which collective a message belongs to. */
  enum OpKind {
    /** Float32 sum by reduce-scatter, divide by W at the owner, all-gather. */
    AVERAGE_FLOAT(1, Float.BYTES, true),
    /** Float64 all-gather of every rank's values; the sum is taken locally. */
    GATHER_DOUBLE(2, Double.BYTES, false);

    private final int code;
    private final int elementBytes;
    private final boolean reduces;

    OpKind(final int code, final int elementBytes, final boolean reduces) {
      this.code = code;
      this.elementBytes = elementBytes;
      this.reduces = reduces;
    }

    int code() {
      return code;
    }

    int elementBytes() {
      return elementBytes;
    }

    /** Whether the operation starts with a reduce-scatter phase. */
    boolean reduces() {
      return reduces;
    }
  }

  private MessageHeader() {}

  static void write(
      final MutableDirectBuffer buffer,
      final long opSeq,
      final long totalBytes,
      final long offsetBytes,
      final OpKind kind,
      final int step,
      final int senderRank,
      final int payloadBytes,
      final long runToken) {
    buffer.putLong(OP_SEQ_OFFSET, opSeq, ORDER);
    buffer.putLong(TOTAL_BYTES_OFFSET, totalBytes, ORDER);
    buffer.putLong(OFFSET_BYTES_OFFSET, offsetBytes, ORDER);
    buffer.putInt(KIND_OFFSET, kind.code(), ORDER);
    buffer.putInt(STEP_OFFSET, step, ORDER);
    buffer.putInt(SENDER_RANK_OFFSET, senderRank, ORDER);
    buffer.putInt(PAYLOAD_BYTES_OFFSET, payloadBytes, ORDER);
    buffer.putLong(RUN_TOKEN_OFFSET, runToken, ORDER);
    buffer.setMemory(TAG_OFFSET, FrameMac.TAG_BYTES, (byte) 0);
  }

  static long runToken(final DirectBuffer buffer, final int offset) {
    return buffer.getLong(offset + RUN_TOKEN_OFFSET, ORDER);
  }

  static long opSeq(final DirectBuffer buffer, final int offset) {
    return buffer.getLong(offset + OP_SEQ_OFFSET, ORDER);
  }

  static long totalBytes(final DirectBuffer buffer, final int offset) {
    return buffer.getLong(offset + TOTAL_BYTES_OFFSET, ORDER);
  }

  static long offsetBytes(final DirectBuffer buffer, final int offset) {
    return buffer.getLong(offset + OFFSET_BYTES_OFFSET, ORDER);
  }

  static int kindCode(final DirectBuffer buffer, final int offset) {
    return buffer.getInt(offset + KIND_OFFSET, ORDER);
  }

  static int step(final DirectBuffer buffer, final int offset) {
    return buffer.getInt(offset + STEP_OFFSET, ORDER);
  }

  static int senderRank(final DirectBuffer buffer, final int offset) {
    return buffer.getInt(offset + SENDER_RANK_OFFSET, ORDER);
  }

  static int payloadBytes(final DirectBuffer buffer, final int offset) {
    return buffer.getInt(offset + PAYLOAD_BYTES_OFFSET, ORDER);
  }

  /** One line for error messages. */
  static String describe(final DirectBuffer buffer, final int offset) {
    return "op #%d kind %d step %d from rank %d, %d bytes at byte %d of %d"
        .formatted(
            opSeq(buffer, offset),
            kindCode(buffer, offset),
            step(buffer, offset),
            senderRank(buffer, offset),
            payloadBytes(buffer, offset),
            offsetBytes(buffer, offset),
            totalBytes(buffer, offset));
  }
}
