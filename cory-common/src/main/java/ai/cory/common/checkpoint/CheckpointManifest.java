package ai.cory.common.checkpoint;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * {@code manifest.json}: every file of a checkpoint (paths relative to its directory) with its
 * size and checksum. Written last by the writer, so a manifest implies its files were all
 * closed; the commit marker records the manifest's own checksum, so the manifest is covered too.
 *
 * @param format            always {@value #FORMAT}
 * @param formatVersion     {@link CheckpointLayout#FORMAT_VERSION} of the writer
 * @param iteration         the checkpoint's iteration (iterations completed)
 * @param checksumAlgorithm algorithm of every {@code checksum}
 * @param files             the files, in writing order
 */
public record CheckpointManifest(
    @JsonProperty("format") String format,
    @JsonProperty("format_version") int formatVersion,
    @JsonProperty("iteration") long iteration,
    @JsonProperty("checksum_algorithm") ChecksumAlgorithm checksumAlgorithm,
    @JsonProperty("files") List<FileEntry> files) {
  private static final Pattern SAFE_PART = Pattern.compile("[A-Za-z0-9._-]+");

  /** Value of {@code format}. */
  public static final String FORMAT = "cory-checkpoint";

  /**
   * One file.
   *
   * @param name      path relative to the checkpoint directory ({@code agent-A/model.safetensors})
   * @param sizeBytes length in bytes
   * @param checksum  lower-case hex checksum of the whole file
   */
  public record FileEntry(@JsonProperty("name") String name,
      @JsonProperty("size_bytes") long sizeBytes, @JsonProperty("checksum") String checksum) {
    public FileEntry {
      checkName(name);
      if (sizeBytes < 0) {
        throw new IllegalArgumentException("file " + name + ": size must be >= 0, got " + sizeBytes);
      }
      if (checksum == null || !checksum.matches("[0-9a-f]{8,128}")) {
        throw new IllegalArgumentException("file " + name + ": checksum must be lower-case hex, got "
            + checksum);
      }
    }
  }

  public CheckpointManifest {
    if (!FORMAT.equals(format)) {
      throw new IllegalArgumentException("format must be '" + FORMAT + "', got '" + format + "'");
    }
    if (formatVersion != CheckpointLayout.FORMAT_VERSION) {
      throw new IllegalArgumentException("unsupported format_version " + formatVersion
          + " (this build reads " + CheckpointLayout.FORMAT_VERSION + ")");
    }
    if (iteration < 0) {
      throw new IllegalArgumentException("iteration must be >= 0, got " + iteration);
    }
    Objects.requireNonNull(checksumAlgorithm, "checksum_algorithm");
    files = List.copyOf(Objects.requireNonNull(files, "files"));
    Set<String> seen = new HashSet<>();
    for (FileEntry f : files) {
      if (!seen.add(f.name())) {
        throw new IllegalArgumentException("file " + f.name() + " listed twice");
      }
    }
  }

  /** A manifest of the current format. */
  public static CheckpointManifest of(long iteration, ChecksumAlgorithm algorithm,
      List<FileEntry> files) {
    return new CheckpointManifest(FORMAT, CheckpointLayout.FORMAT_VERSION, iteration, algorithm, files);
  }

  /** The entry of {@code name}, if listed. */
  public Optional<FileEntry> file(String name) {
    return files.stream().filter(f -> f.name().equals(name)).findFirst();
  }

  /** Sum of the listed files' sizes. */
  public long totalBytes() {
    return files.stream().mapToLong(FileEntry::sizeBytes).sum();
  }

  /** The {@code manifest.json} bytes. */
  public byte[] toJson() {
    return CheckpointJson.write(this);
  }

  /**
   * Parses {@code manifest.json}; a manifest of another format version is refused with that
   * version in the message before any other key is looked at.
   *
   * @param where the file, for messages
   */
  public static CheckpointManifest fromJson(byte[] json, String where) throws IOException {
    JsonNode version;
    try {
      JsonNode root = CheckpointJson.MAPPER.readTree(json);
      version = root == null ? null : root.get("format_version");
    } catch (IOException e) {
      throw new IOException(where + ": malformed JSON: " + e.getMessage(), e);
    }
    if (version == null || !version.isInt() || version.intValue() != CheckpointLayout.FORMAT_VERSION) {
      throw new IOException(where + ": unsupported checkpoint format_version " + version
          + " (this build reads " + CheckpointLayout.FORMAT_VERSION + ")");
    }
    return CheckpointJson.read(json, CheckpointManifest.class, where);
  }

  /**
   * Names are plain relative paths that cannot escape the directory or shadow the metadata: parts
   * of letters, digits, '.', '_' and '-' joined by '/', none of them "." or "..". No ':' (Hadoop's
   * {@code new Path(dir, "file:/etc/hostname")} reads a URI and leaves the checkpoint), no '\\',
   * no '%', no space.
   */
  private static void checkName(String name) {
    boolean ok = name != null && !name.isEmpty() && !name.equals(CheckpointLayout.MANIFEST)
        && !name.equals(CheckpointLayout.MARKER);
    for (String part : ok ? name.split("/", -1) : new String[0]) {
      ok &= SAFE_PART.matcher(part).matches() && !part.equals(".") && !part.equals("..");
    }
    if (!ok) {
      throw new IllegalArgumentException("file name must be a relative path inside the checkpoint"
          + " (not " + CheckpointLayout.MANIFEST + " or " + CheckpointLayout.MARKER + "), got '"
          + name + "'");
    }
  }
}
