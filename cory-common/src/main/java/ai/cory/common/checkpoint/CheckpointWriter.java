package ai.cory.common.checkpoint;

import ai.cory.common.checkpoint.CheckpointContents.AgentSnapshot;
import ai.cory.common.checkpoint.CheckpointManifest.FileEntry;
import ai.cory.common.io.FileSink;
import ai.cory.common.io.FileSource;
import ai.cory.common.io.HfConfigWriter;
import ai.cory.common.io.SafeTensorsWriter;
import ai.cory.common.model.ParamLayout;
import ai.cory.common.model.Parameters;
import java.io.BufferedOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
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

  /** config.json + model.safetensors (HF names, no value head) + value head + companions. */
  private static void writeAgent(FileSink sink, String id, AgentSnapshot agent,
      ChecksumAlgorithm algorithm, List<FileEntry> files) throws IOException {
    Parameters p = agent.weights();
    TreeMap<String, INDArray> model = new TreeMap<>();
    TreeMap<String, INDArray> valueHead = new TreeMap<>();
    for (ParamLayout.Entry e : p.layout().entries()) {
      (e.name().startsWith("v_head.") ? valueHead : model).put(e.name(), p.get(e.name()));
    }
    files.add(writeBytes(sink, CheckpointLayout.agentFile(id, CheckpointLayout.AGENT_CONFIG),
        HfConfigWriter.toJson(p.layout().config(), p.dataType()), algorithm));
    files.add(writeTensors(sink, CheckpointLayout.agentFile(id, CheckpointLayout.AGENT_MODEL),
        model, algorithm));
    files.add(writeTensors(sink, CheckpointLayout.agentFile(id, CheckpointLayout.AGENT_VALUE_HEAD),
        valueHead, algorithm));
    FileSource source = agent.companions();
    for (String name : source == null ? List.<String>of() : CheckpointLayout.COMPANIONS) {
      if (source.exists(name)) {
        files.add(copy(source, name, sink, CheckpointLayout.agentFile(id, name), algorithm));
      }
    }
  }

  private static FileEntry writeTensors(FileSink sink, String name, Map<String, INDArray> tensors,
      ChecksumAlgorithm algorithm) throws IOException {
    try (Checksummed out = new Checksummed(sink.create(name), algorithm)) {
      OutputStream buffered = new BufferedOutputStream(out, BUFFER_BYTES);
      SafeTensorsWriter.writeLossless(buffered, tensors);
      buffered.flush();
      return out.entry(name);
    }
  }

  private static FileEntry writeBytes(FileSink sink, String name, byte[] bytes,
      ChecksumAlgorithm algorithm) throws IOException {
    try (Checksummed out = new Checksummed(sink.create(name), algorithm)) {
      out.write(bytes, 0, bytes.length);
      return out.entry(name);
    }
  }

  private static FileEntry copy(FileSource source, String sourceName, FileSink sink, String name,
      ChecksumAlgorithm algorithm) throws IOException {
    try (InputStream in = source.open(sourceName, 0);
        Checksummed out = new Checksummed(sink.create(name), algorithm)) {
      byte[] buf = new byte[BUFFER_BYTES];
      for (int n; (n = in.read(buf)) >= 0; ) {
        out.write(buf, 0, n);
      }
      return out.entry(name);
    }
  }

  /** Counts and checksums every byte on its way to the file. */
  private static final class Checksummed extends FilterOutputStream {
    private final ChecksumAlgorithm.Digest digest;
    private long bytes;

    Checksummed(OutputStream out, ChecksumAlgorithm algorithm) {
      super(out);
      this.digest = algorithm.start();
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

    FileEntry entry(String name) {
      return new FileEntry(name, bytes, digest.hex());
    }
  }
}
