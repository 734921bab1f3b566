package ai.cory.common.checkpoint;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.zip.CRC32C;

/**
 * Checksums recorded in a checkpoint manifest. Both detect accidental corruption (a flipped bit,
 * a torn or truncated write); CRC32C (Castagnoli; what HDFS and GCS use end to end) runs at
 * ~13 GB/s here, SHA-256 at ~1.3 GB/s with SHA-NI (~0.3 GB/s without) and also resists
 * deliberate tampering. The manifest names the algorithm, so readers verify with the one the
 * writer chose.
 */
public enum ChecksumAlgorithm {
  /** CRC-32C, 8 hex digits. */
  CRC32C,
  /** SHA-256, 64 hex digits. */
  SHA256;

  /** An incremental checksum over a byte stream. */
  public interface Digest {
    /** Adds {@code bytes[offset, offset + length)}. */
    void update(byte[] bytes, int offset, int length);

    /** The checksum of everything added, lower-case hex. */
    String hex();
  }

  /** A fresh digest. */
  public Digest start() {
    return switch (this) {
      case CRC32C -> new Crc32cDigest();
      case SHA256 -> new Sha256Digest();
    };
  }

  /** The checksum of {@code bytes}, lower-case hex. */
  public String of(byte[] bytes) {
    Digest d = start();
    d.update(bytes, 0, bytes.length);
    return d.hex();
  }

  private static final class Crc32cDigest implements Digest {
    private final CRC32C crc = new CRC32C();

    @Override
    public void update(byte[] bytes, int offset, int length) {
      crc.update(bytes, offset, length);
    }

    @Override
    public String hex() {
      return String.format("%08x", crc.getValue());
    }
  }

  private static final class Sha256Digest implements Digest {
    private final MessageDigest sha;

    Sha256Digest() {
      try {
        sha = MessageDigest.getInstance("SHA-256");
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException("every Java platform must provide SHA-256", e);
      }
    }

    @Override
    public void update(byte[] bytes, int offset, int length) {
      sha.update(bytes, offset, length);
    }

    @Override
    public String hex() {
      return HexFormat.of().formatHex(sha.digest());
    }
  }
}
