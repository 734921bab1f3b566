package ai.cory.common.checkpoint;

import ai.cory.common.checkpoint.CheckpointException.Kind;
import ai.cory.common.checkpoint.CheckpointManifest.FileEntry;
import ai.cory.common.io.FileSource;
import ai.cory.common.io.SafeTensors;
import ai.cory.common.model.HfConfigReader;
import ai.cory.common.model.HfExport;
import ai.cory.common.model.ModelConfig;
import ai.cory.common.model.ParamLayout;
import ai.cory.common.model.Parameters;
import ai.cory.common.model.PeftExport;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A committed checkpoint whose every file has been verified against its manifest
 * ({@link #open}); tensors are then streamed from the files on demand into the caller's
 * buffers. Verification reads each file once and loading reads what is asked for again: twice
 * the I/O of an unchecked load, the price of never resuming from damaged bytes.
 *
 * <p>Immutable; reads may run from several threads.
 */
public final class Checkpoint {
  private static final int COPY_BYTES = 1 << 20;

  private final FileSource dir;
  private final String location;
  private final CheckpointManifest manifest;
  private final CheckpointState state;
  private final String resolvedConfig;

  private Checkpoint(FileSource dir, String location, CheckpointVerifier.Verified verified) {
    this.dir = dir;
    this.location = location;
    this.manifest = verified.manifest();
    this.state = verified.state();
    this.resolvedConfig = verified.resolvedConfig();
  }

  /**
   * Verifies and opens the checkpoint directory {@code dir}: commit marker present and bound to
   * the manifest, every listed file present with the listed size and checksum.
   *
   * @throws CheckpointException naming the directory and the problem when it is torn or corrupt
   */
  public static Checkpoint open(FileSource dir) throws CheckpointException {
    String location = locationOf(dir);
    return new Checkpoint(dir, location, CheckpointVerifier.verify(dir, location));
  }

  /** The checkpoint directory ("hdfs://nn/runs/x/checkpoints/iter-000123"). */
  public String location() {
    return location;
  }

  /** Iterations completed when it was written. */
  public long iteration() {
    return manifest.iteration();
  }

  public CheckpointManifest manifest() {
    return manifest;
  }

  /** The trainer state. */
  public CheckpointState state() {
    return state;
  }

  /** The run's resolved configuration text. */
  public String resolvedConfig() {
    return resolvedConfig;
  }

  /** Agent ids with weights in this checkpoint, sorted. */
  public List<String> agents() {
    List<String> ids = new ArrayList<>();
    for (FileEntry f : manifest.files()) {
      String id = CheckpointLayout.agentOfModelFile(f.name());
      if (id != null) {
        ids.add(id);
      }
    }
    ids.sort(null);
    return ids;
  }

  /** The model configuration of {@code agent} (its {@code config.json}). */
  public ModelConfig modelConfig(String agent) throws IOException {
    requireAgent(agent);
    return HfConfigReader.read(new AgentDir(dir, CheckpointLayout.agentDir(agent)));
  }

  /** {@code agent}'s weights and value head in a new buffer of {@code dataType}. */
  public Parameters readAgent(String agent, DataType dataType) throws IOException {
    Parameters p = Parameters.zeros(ParamLayout.of(modelConfig(agent)), dataType);
    readAgentInto(agent, p);
    return p;
  }

  /**
   * Reads {@code agent}'s weights and value head into {@code dst} (an executor's resident model),
   * converting to {@code dst}'s type if it differs from the stored one.
   *
   * @throws IllegalArgumentException when {@code dst}'s model configuration differs from the
   *                                  checkpoint's (both printed), or a file holds tensors the
   *                                  layout does not have
   */
  public void readAgentInto(String agent, Parameters dst) throws IOException {
    if (dst.layout().isAdapters()) { // a LoRA agent: its PEFT directory (shapes and names checked)
      requireAgent(agent);
      PeftExport.read(new AgentDir(dir, CheckpointLayout.agentDir(agent)), dst);
      return;
    }
    ModelConfig stored = modelConfig(agent);
    if (!stored.equals(dst.layout().config())) {
      throw new IllegalArgumentException("agent " + agent + " of " + location + " is a " + stored
          + " but the destination model is a " + dst.layout().config());
    }
    SafeTensors model = SafeTensors.open(dir, CheckpointLayout.agentFile(agent,
        CheckpointLayout.AGENT_MODEL));
    SafeTensors valueHead = SafeTensors.open(dir, CheckpointLayout.agentFile(agent,
        CheckpointLayout.AGENT_VALUE_HEAD));
    Set<String> expectedModel = new HashSet<>();
    Set<String> expectedValueHead = new HashSet<>();
    for (ParamLayout.Entry e : dst.layout().entries()) {
      boolean head = HfExport.isValueHead(e.name());
      (head ? expectedValueHead : expectedModel).add(e.name());
      (head ? valueHead : model).readInto(e.name(), e.shape(), dst.get(e.name()));
    }
    refuseExtra(model, expectedModel, agent);
    refuseExtra(valueHead, expectedValueHead, agent);
  }

  private void refuseExtra(SafeTensors file, Set<String> expected, String agent) {
    List<String> extra = file.names().stream().filter(n -> !expected.contains(n)).toList();
    if (!extra.isEmpty()) {
      throw new IllegalArgumentException(dir.describe(file.files().get(0)) + ": tensors " + extra
          + " are not parameters of agent " + agent + "'s model");
    }
  }

  /** Names of the trainer buffers, sorted; empty when the checkpoint has none. */
  public List<String> bufferNames() throws IOException {
    return hasBuffers() ? buffers().names() : List.of();
  }

  /** Stored shape of buffer {@code name}. */
  public long[] bufferShape(String name) throws IOException {
    return buffers().info(name).shape();
  }

  /** Buffer {@code name} in a new array of its stored shape and type (F64 DOUBLE, else FLOAT). */
  public INDArray readBuffer(String name) throws IOException {
    SafeTensors st = buffers();
    SafeTensors.TensorInfo info = st.info(name);
    DataType type = info.dtype().equals("F64") ? DataType.DOUBLE : DataType.FLOAT;
    INDArray dst = Nd4j.create(type, info.shape());
    st.readInto(name, info.shape(), dst);
    return dst;
  }

  /**
   * Reads buffer {@code name} into {@code dst}, whose shape must equal the stored one; the values
   * are converted if {@code dst}'s type differs from the stored type.
   */
  public void readBufferInto(String name, INDArray dst) throws IOException {
    buffers().readInto(name, dst.shape(), dst);
  }

  private boolean hasBuffers() {
    return manifest.file(CheckpointLayout.BUFFERS).isPresent();
  }

  private SafeTensors buffers() throws IOException {
    if (!hasBuffers()) {
      throw new IllegalArgumentException(location + " has no trainer buffers");
    }
    return SafeTensors.open(dir, CheckpointLayout.BUFFERS);
  }

  /**
   * The files of {@code agent}'s Hugging Face model directory ({@link HfExport}), relative to
   * this checkpoint, {@code config.json} last (tools take a directory with a config.json for a
   * complete model).
   */
  public List<String> huggingFaceFiles(String agent) {
    requireAgent(agent);
    String prefix = CheckpointLayout.agentDir(agent) + "/";
    String config = CheckpointLayout.agentFile(agent, CheckpointLayout.AGENT_CONFIG);
    List<String> files = new ArrayList<>();
    for (FileEntry f : manifest.files()) {
      if (f.name().startsWith(prefix) && !f.name().equals(config)) {
        files.add(f.name());
      }
    }
    files.add(config);
    return files;
  }

  /**
   * Copies file {@code name} (as listed in the manifest) to {@code out} (not closed), checking
   * its size and checksum again on the way, so that a file damaged since {@link #open} is never
   * exported silently.
   *
   * @throws CheckpointException when the copied bytes differ from the manifest; {@code out} has
   *                             then received damaged bytes and must be discarded
   */
  public void copyFile(String name, OutputStream out) throws IOException {
    FileEntry entry = manifest.file(name).orElseThrow(() -> new FileNotFoundException(location
        + " has no file " + name + " in its manifest"));
    ChecksumAlgorithm.Digest digest = manifest.checksumAlgorithm().start();
    long bytes = 0;
    try (InputStream in = dir.open(name, 0)) {
      byte[] buf = new byte[COPY_BYTES];
      for (int n; (n = in.read(buf)) >= 0; ) {
        out.write(buf, 0, n);
        digest.update(buf, 0, n);
        bytes += n;
      }
    }
    String checksum = digest.hex();
    if (bytes != entry.sizeBytes() || !checksum.equals(entry.checksum())) {
      throw new CheckpointException(Kind.CORRUPT, location, name + " changed since it was verified:"
          + " copied " + bytes + " bytes with checksum " + checksum + ", manifest says "
          + entry.sizeBytes() + " bytes with checksum " + entry.checksum());
    }
  }

  private void requireAgent(String agent) {
    if (!agents().contains(agent)) {
      throw new IllegalArgumentException(location + " has no agent '" + agent + "'; it has "
          + agents());
    }
  }

  /** The directory's own location, from a file's: FileSource has no name for the directory. */
  private static String locationOf(FileSource dir) {
    String manifest = dir.describe(CheckpointLayout.MANIFEST);
    String suffix = "/" + CheckpointLayout.MANIFEST;
    return manifest.endsWith(suffix)
        ? manifest.substring(0, manifest.length() - suffix.length()) : manifest;
  }

  @Override
  public String toString() {
    return "Checkpoint(" + location + ", iteration " + iteration() + ")";
  }

  /** An agent's sub-directory, so that {@link HfConfigReader} finds its {@code config.json}. */
  private record AgentDir(FileSource parent, String prefix) implements FileSource {
    @Override
    public boolean exists(String name) throws IOException {
      return parent.exists(prefix + "/" + name);
    }

    @Override
    public long size(String name) throws IOException {
      return parent.size(prefix + "/" + name);
    }

    @Override
    public InputStream open(String name, long offsetBytes) throws IOException {
      return parent.open(prefix + "/" + name, offsetBytes);
    }

    @Override
    public String describe(String name) {
      return parent.describe(prefix + "/" + name);
    }
  }
}
