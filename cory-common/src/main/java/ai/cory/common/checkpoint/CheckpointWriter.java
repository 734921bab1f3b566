package ai.cory.common.checkpoint;

import ai.cory.common.checkpoint.CheckpointContents.AgentSnapshot;
import ai.cory.common.checkpoint.CheckpointManifest.FileEntry;
import ai.cory.common.io.FileSink;
import ai.cory.common.io.SafeTensorsWriter;
import ai.cory.common.model.HfExport;
import java.io.BufferedOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Writes one checkpoint ({@link CheckpointLayout}) into a {@link FileSink}: every file goes
 * through a stream that counts and checksums the bytes as they are written (one pass, nothing
 * is read back), then {@code manifest.json} lists them. Whoever calls this owns the directory;
 * committing it is a separate step (the driver's, after the stage succeeded).
 */
public final class CheckpointWriter {
  private static final int BUFFER_BYTES = 1 << 20;

  private CheckpointWriter() {}

  /**
   * What was written.
   *
   * @param manifest         the manifest (every file but itself)
   * @param manifestChecksum checksum of the {@code manifest.json} bytes, for the commit marker
   */
  public record Result(CheckpointManifest manifest, String manifestChecksum) {}

  /** Writes {@code contents} into {@code sink} with checksums of {@code algorithm}. */
  public static Result write(CheckpointContents contents, FileSink sink, ChecksumAlgorithm algorithm)
      throws IOException {
    List<FileEntry> files = new ArrayList<>();
    long iteration = contents.state().iteration();
    files.add(writeBytes(sink, CheckpointLayout.STATE, contents.state().toJson(), algorithm));
    files.add(writeBytes(sink, CheckpointLayout.CONFIG,
        contents.resolvedConfig().getBytes(StandardCharsets.UTF_8), algorithm));
    for (Map.Entry<String, AgentSnapshot> e : contents.agents().entrySet()) {
      writeAgent(sink, e.getKey(), e.getValue(), algorithm, files);
    }
    if (!contents.buffers().isEmpty()) {
      files.add(writeTensors(sink, CheckpointLayout.BUFFERS, contents.buffers(), algorithm));
    }
    CheckpointManifest manifest = CheckpointManifest.of(iteration, algorithm, files);
    byte[] manifestJson = manifest.toJson();
    try (OutputStream out = sink.create(CheckpointLayout.MANIFEST)) {
      out.write(manifestJson);
    }
    return new Result(manifest, algorithm.of(manifestJson));
  }

  /** The agent's Hugging Face directory ({@link HfExport}) under {@code agent-<id>/}, every file checksummed. */
  private static void writeAgent(FileSink sink, String id, AgentSnapshot agent,
      ChecksumAlgorithm algorithm, List<FileEntry> files) throws IOException {
    String dir = CheckpointLayout.agentDir(id) + "/";
    HfExport.write(new FileSink() {
      @Override
      public OutputStream create(String name) throws IOException {
        return new Checksummed(sink.create(dir + name), algorithm, dir + name, files);
      }

      @Override
      public String describe(String name) {
        return sink.describe(dir + name);
      }
    }, agent.weights(), agent.companions());
  }

  private static FileEntry writeTensors(FileSink sink, String name, Map<String, INDArray> tensors,
      ChecksumAlgorithm algorithm) throws IOException {
    List<FileEntry> entry = new ArrayList<>(1);
    try (OutputStream out = new BufferedOutputStream(new Checksummed(sink.create(name), algorithm, name, entry),
        BUFFER_BYTES)) {
      SafeTensorsWriter.writeLossless(out, tensors);
    }
    return entry.get(0);
  }

  private static FileEntry writeBytes(FileSink sink, String name, byte[] bytes,
      ChecksumAlgorithm algorithm) throws IOException {
    List<FileEntry> entry = new ArrayList<>(1);
    try (Checksummed out = new Checksummed(sink.create(name), algorithm, name, entry)) {
      out.write(bytes, 0, bytes.length);
    }
    return entry.get(0);
  }

  /** Counts and checksums every byte on its way to the file; adds its entry on close. */
  private static final class Checksummed extends FilterOutputStream {
    private final ChecksumAlgorithm.Digest digest;
    private final String name;
    private final List<FileEntry> entries;
    private long bytes;
    private boolean closed;

    Checksummed(OutputStream out, ChecksumAlgorithm algorithm, String name, List<FileEntry> entries) {
      super(out);
      this.digest = algorithm.start();
      this.name = name;
      this.entries = entries;
    }

    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      out.write(b, off, len);
      digest.update(b, off, len);
      bytes += len;
    }

    @Override
    public void close() throws IOException {
      if (closed) {
        return;
      }
      closed = true;
      super.close();
      entries.add(new FileEntry(name, bytes, digest.hex()));
    }
  }
}
