package ai.cory.worker.comm;

import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import javax.crypto.Mac;
import javax.crypto.ShortBufferException;
import javax.crypto.spec.SecretKeySpec;
import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * The optional authentication of ring messages ({@code cory.runtime.authenticate-frames}): an
 * HMAC-SHA256 with the run's secret key over the header (without its tag) and the payload,
 * truncated to {@value #TAG_BYTES} bytes and carried in the header. The sender computes it over
 * the whole message; the receiver over the fragments as they arrive, checking at the last one, so
 * a forged or altered message fails the collective (it cannot be taken for the run's data). Used
 * by one thread.
 */
final class FrameMac {
  /** Bytes of the tag in the header (128 bits of HMAC-SHA256). */
  static final int TAG_BYTES = 16;
  private static final String ALGORITHM = "HmacSHA256";

  private final Mac mac;
  private final byte[] scratch;
  private final byte[] expected = new byte[TAG_BYTES];
  private final byte[] full; // the whole HMAC of the current message
  private final byte[] tag = new byte[TAG_BYTES];

  /** @param key the run's secret (32 random bytes) */
  FrameMac(byte[] key, int chunkBytes) {
    try {
      mac = Mac.getInstance(ALGORITHM);
      mac.init(new SecretKeySpec(key, ALGORITHM));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(ALGORITHM + " is missing from the JVM", e);
    }
    scratch = new byte[Math.max(MessageHeader.LENGTH, Math.min(chunkBytes, 1 << 16))];
    full = new byte[mac.getMacLength()];
  }

  /** Starts a message whose header (its tag field not included) is at {@code offset}. */
  void start(DirectBuffer header, int offset) {
    mac.reset();
    update(header, offset, MessageHeader.TAG_OFFSET);
  }

  /** Adds {@code length} bytes of the message. */
  void update(DirectBuffer buffer, int offset, int length) {
    for (int done = 0; done < length; ) {
      int n = Math.min(scratch.length, length - done);
      buffer.getBytes(offset + done, scratch, 0, n);
      mac.update(scratch, 0, n);
      done += n;
    }
  }

  /** Writes the tag of the message into its header at {@code offset}. */
  void sign(MutableDirectBuffer header, int offset) {
    header.putBytes(offset + MessageHeader.TAG_OFFSET, finish(), 0, TAG_BYTES);
  }

  /** Remembers the tag the header at {@code offset} carries, before its payload arrives. */
  void expect(DirectBuffer header, int offset) {
    header.getBytes(offset + MessageHeader.TAG_OFFSET, expected, 0, TAG_BYTES);
  }

  /** True when the message's bytes so far have the tag {@link #expect} remembered (constant time). */
  boolean verify() {
    System.arraycopy(finish(), 0, tag, 0, TAG_BYTES);
    return MessageDigest.isEqual(tag, expected);
  }

  /** The message's HMAC, into a buffer of this instance (no allocation per message). */
  private byte[] finish() {
    try {
      mac.doFinal(full, 0);
    } catch (ShortBufferException e) {
      throw new IllegalStateException("HMAC output buffer of " + full.length + " bytes", e);
    }
    return full;
  }
}
