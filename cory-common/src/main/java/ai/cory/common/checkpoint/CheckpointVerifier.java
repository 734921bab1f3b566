package ai.cory.common.checkpoint;

import ai.cory.common.checkpoint.CheckpointException.Kind;
import ai.cory.common.checkpoint.CheckpointManifest.FileEntry;
import ai.cory.common.io.FileSource;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * Checks a checkpoint directory before anything of it is used: the commit marker exists and
 * names the manifest's checksum; every listed file exists (else torn) with the listed size and
 * checksum (else corrupt). Sizes are checked for all files before any checksum is computed, so a
 * torn or truncated checkpoint is rejected without reading gigabytes. The small metadata files
 * are read once, checksummed and parsed from the same bytes.
 */
final class CheckpointVerifier {
  private static final int READ_BYTES = 1 << 20;
  /** Bound on the metadata files read into memory (marker, manifest, state, config). */
  private static final long MAX_METADATA_BYTES = 64L << 20;

  /** A verified checkpoint's metadata. */
  record Verified(CheckpointManifest manifest, CheckpointState state, String resolvedConfig) {}

  private final FileSource dir;
  private final String location;

  private CheckpointVerifier(FileSource dir, String location) {
    this.dir = dir;
    this.location = location;
  }

  /** Verifies {@code dir}; {@code location} names it in messages. */
  static Verified verify(FileSource dir, String location) throws CheckpointException {
    return new CheckpointVerifier(dir, location).verify();
  }

  private Verified verify() throws CheckpointException {
    if (!exists(CheckpointLayout.MARKER)) {
      throw new CheckpointException(Kind.TORN, location, "no " + CheckpointLayout.MARKER
          + " marker: it was never committed (the stage failed, or the driver stopped before the"
          + " commit)");
    }
    CommitMarker marker = parse(readSmall(CheckpointLayout.MARKER),
        bytes -> CommitMarker.fromJson(bytes, dir.describe(CheckpointLayout.MARKER)));
    if (!exists(CheckpointLayout.MANIFEST)) {
      throw new CheckpointException(Kind.TORN, location, CheckpointLayout.MANIFEST + " is missing");
    }
    byte[] manifestBytes = readSmall(CheckpointLayout.MANIFEST);
    String manifestSum = marker.checksumAlgorithm().of(manifestBytes);
    if (!manifestSum.equals(marker.manifestChecksum())) {
      throw corrupt(CheckpointLayout.MANIFEST + ": " + marker.checksumAlgorithm()
          + " checksum mismatch: " + CheckpointLayout.MARKER + " says " + marker.manifestChecksum()
          + ", the file has " + manifestSum);
    }
    CheckpointManifest manifest = parse(manifestBytes,
        bytes -> CheckpointManifest.fromJson(bytes, dir.describe(CheckpointLayout.MANIFEST)));
    if (manifest.iteration() != marker.iteration()) {
      throw corrupt(CheckpointLayout.MANIFEST + " is for iteration " + manifest.iteration()
          + " but " + CheckpointLayout.MARKER + " for iteration " + marker.iteration());
    }
    for (String required : new String[] {CheckpointLayout.STATE, CheckpointLayout.CONFIG}) {
      if (manifest.file(required).isEmpty()) {
        throw corrupt(CheckpointLayout.MANIFEST + " does not list " + required);
      }
    }
    checkSizes(manifest);
    Map<String, byte[]> metadata = new HashMap<>();
    for (FileEntry f : manifest.files()) {
      if (f.name().equals(CheckpointLayout.STATE) || f.name().equals(CheckpointLayout.CONFIG)) {
        byte[] bytes = readSmall(f.name());
        checkContent(f, bytes.length, manifest.checksumAlgorithm().of(bytes));
        metadata.put(f.name(), bytes);
      } else {
        checkStreamed(f, manifest.checksumAlgorithm());
      }
    }
    CheckpointState state = parse(metadata.get(CheckpointLayout.STATE),
        bytes -> CheckpointState.fromJson(bytes, dir.describe(CheckpointLayout.STATE)));
    if (state.iteration() != manifest.iteration()) {
      throw corrupt(CheckpointLayout.STATE + " is for iteration " + state.iteration() + " but "
          + CheckpointLayout.MANIFEST + " for iteration " + manifest.iteration());
    }
    String config = new String(metadata.get(CheckpointLayout.CONFIG), StandardCharsets.UTF_8);
    return new Verified(manifest, state, config);
  }

  private void checkSizes(CheckpointManifest manifest) throws CheckpointException {
    for (FileEntry f : manifest.files()) {
      if (!exists(f.name())) {
        throw new CheckpointException(Kind.TORN, location, "missing file " + f.name()
            + " (listed in " + CheckpointLayout.MANIFEST + ")");
      }
      long size;
      try {
        size = dir.size(f.name());
      } catch (IOException e) {
        throw corrupt("cannot stat " + f.name() + ": " + e.getMessage(), e);
      }
      if (size != f.sizeBytes()) {
        throw corrupt(f.name() + " has " + size + " bytes but " + CheckpointLayout.MANIFEST
            + " says " + f.sizeBytes() + (size < f.sizeBytes() ? " (truncated)" : ""));
      }
    }
  }

  private void checkStreamed(FileEntry f, ChecksumAlgorithm algorithm) throws CheckpointException {
    ChecksumAlgorithm.Digest digest = algorithm.start();
    long bytes = 0;
    try (InputStream in = dir.open(f.name(), 0)) {
      byte[] buf = new byte[READ_BYTES];
      for (int n; (n = in.read(buf)) >= 0; ) {
        digest.update(buf, 0, n);
        bytes += n;
      }
    } catch (IOException e) {
      throw corrupt("cannot read " + f.name() + ": " + e.getMessage(), e);
    }
    checkContent(f, bytes, digest.hex());
  }

  private void checkContent(FileEntry f, long bytes, String checksum) throws CheckpointException {
    if (bytes != f.sizeBytes()) {
      throw corrupt(f.name() + ": read " + bytes + " bytes but " + CheckpointLayout.MANIFEST
          + " says " + f.sizeBytes());
    }
    if (!checksum.equals(f.checksum())) {
      throw corrupt(f.name() + ": checksum mismatch: " + CheckpointLayout.MANIFEST + " says "
          + f.checksum() + ", the file has " + checksum);
    }
  }

  private boolean exists(String name) throws CheckpointException {
    try {
      return dir.exists(name);
    } catch (IOException e) {
      throw corrupt("cannot stat " + name + ": " + e.getMessage(), e);
    }
  }

  private byte[] readSmall(String name) throws CheckpointException {
    try {
      long size = dir.size(name);
      if (size > MAX_METADATA_BYTES) {
        throw corrupt(name + " has " + size + " bytes, more than the " + MAX_METADATA_BYTES
            + " a metadata file may have");
      }
      ByteArrayOutputStream out = new ByteArrayOutputStream((int) size);
      try (InputStream in = dir.open(name, 0)) {
        in.transferTo(out);
      }
      return out.toByteArray();
    } catch (CheckpointException e) {
      throw e;
    } catch (IOException e) {
      throw corrupt("cannot read " + name + ": " + e.getMessage(), e);
    }
  }

  private interface Parser<T> {
    T parse(byte[] bytes) throws IOException;
  }

  private <T> T parse(byte[] bytes, Parser<T> parser) throws CheckpointException {
    try {
      return parser.parse(bytes);
    } catch (IOException e) {
      throw corrupt(e.getMessage(), e); // the parsers' messages name the file
    }
  }

  private CheckpointException corrupt(String problem) {
    return new CheckpointException(Kind.CORRUPT, location, problem);
  }

  private CheckpointException corrupt(String problem, Throwable cause) {
    return new CheckpointException(Kind.CORRUPT, location, problem, cause);
  }
}
