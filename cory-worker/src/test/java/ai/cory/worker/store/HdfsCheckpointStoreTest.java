package ai.cory.worker.store;

import static ai.cory.worker.store.CheckpointFixtures.assertHolds;
import static ai.cory.worker.store.CheckpointFixtures.bits;
import static ai.cory.worker.store.CheckpointFixtures.contents;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.checkpoint.Checkpoint;
import ai.cory.common.checkpoint.CheckpointContents;
import ai.cory.common.checkpoint.CheckpointLayout;
import ai.cory.common.checkpoint.ChecksumAlgorithm;
import ai.cory.common.model.CausalLm;
import ai.cory.common.model.Parameters;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.hdfs.DistributedFileSystem;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The checkpoint protocol on a real HDFS: a MiniDFSCluster (one NameNode, one DataNode) in this
 * JVM. Writer, committer and resumer are separate store instances, as rank 0, the driver and a
 * restarted run are, and the handle crosses them through Java serialization like a Spark result.
 */
class HdfsCheckpointStoreTest {
  @TempDir static Path base;
  private static MiniDFSCluster cluster;

  @BeforeAll
  static void startHdfs() throws IOException {
    long startNs = System.nanoTime();
    Configuration conf = new Configuration();
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, base.resolve("dfs").toString());
    // A client's close() polls the NameNode until the DataNode has reported the last block,
    // first after 400 ms by default: most of a small file's write time on an idle test cluster.
    conf.setInt("dfs.client.block.write.locateFollowingBlock.initial.delay.ms", 20);
    cluster = new MiniDFSCluster.Builder(conf).numDataNodes(1).build();
    cluster.waitActive();
    System.out.printf("MiniDFSCluster %s up in %.1f s%n", cluster.getURI(),
        (System.nanoTime() - startNs) / 1e9);
  }

  @AfterAll
  static void stopHdfs() {
    if (cluster != null) {
      cluster.shutdown();
    }
  }

  @Test
  void writtenCommittedAndResumedFromHdfsBitIdentically() throws Exception {
    long startNs = System.nanoTime();
    Configuration conf = cluster.getConfiguration(0);
    String runDir = cluster.getURI() + "/runs/imdb-gpt2";
    List<String> warnings = new ArrayList<>();
    CheckpointStore rank0 = new CheckpointStore(runDir, conf, 2, ChecksumAlgorithm.CRC32C, warnings::add);
    CheckpointStore driver = new CheckpointStore(runDir, conf, 2, ChecksumAlgorithm.CRC32C, warnings::add);
    assertTrue(FileSystem.get(URI.create(runDir), conf) instanceof DistributedFileSystem);

    CheckpointContents written = contents(5, 21, null);
    String committed = driver.commit(shipped(rank0.write(written)));
    assertTrue(committed.startsWith("hdfs://") && committed.endsWith("/runs/imdb-gpt2/checkpoints/iter-000005"),
        committed);
    CheckpointContents next = contents(6, 22, null);
    driver.commit(shipped(rank0.write(next)));
    FileSystem fs = FileSystem.get(URI.create(runDir), conf);
    // the driver died between the rename and the marker of iteration 6
    assertTrue(fs.delete(new org.apache.hadoop.fs.Path(committed.replace("000005", "000006"),
        CheckpointLayout.MARKER), false));

    CheckpointStore resumed = new CheckpointStore(runDir, new Configuration(conf), 2,
        ChecksumAlgorithm.CRC32C, warnings::add);
    Checkpoint cp = resumed.latestCommitted().orElseThrow();
    assertEquals(5, cp.iteration());
    assertHolds(written, cp);
    assertEquals(1, warnings.size(), warnings.toString());
    assertTrue(warnings.get(0).contains("iter-000006") && warnings.get(0).contains("no _COMMITTED marker"),
        warnings.get(0));

    String exported = resumed.exportHuggingFace(cp, "A", cluster.getURI() + "/models/agent-a");
    Parameters want = written.agents().get("A").weights();
    Parameters got = CausalLm.load(FileSources.open(exported, conf), DataType.FLOAT, 3).params();
    for (String name : want.names()) {
      if (!name.startsWith("v_head.")) {
        assertArrayEquals(bits(want.get(name)), bits(got.get(name)), name);
      }
    }
    System.out.printf("HDFS write + commit x2 + resume + export: %.1f s%n",
        (System.nanoTime() - startNs) / 1e9);
  }

  /**
   * An exported model directory on HDFS (what rank 0 writes to {@code <run.store>/final/A}):
   * sharded safetensors and config.json through {@link HadoopDirectoryWriter}, loaded back bit
   * for bit; a second export replaces the first whole; a failing export leaves the previous one
   * untouched and no temporary directory behind.
   */
  @Test
  void modelDirectoriesAreWrittenAndReplacedWholeOnHdfs() throws Exception {
    Configuration conf = cluster.getConfiguration(0);
    String target = cluster.getURI() + "/runs/x/final/A";
    Parameters first = contents(1, 31, null).agents().get("A").weights();
    Parameters second = contents(2, 32, null).agents().get("A").weights();
    String written = HadoopDirectoryWriter.replace(target, conf, sink -> writeModel(sink, first, true));
    assertTrue(written.startsWith("hdfs://") && written.endsWith("/runs/x/final/A"), written);
    FileSystem fs = FileSystem.get(URI.create(target), conf);
    assertTrue(fs.exists(new org.apache.hadoop.fs.Path(target, "model.safetensors.index.json")), "sharded");
    assertSameWeights(first, CausalLm.load(FileSources.open(target, conf), DataType.FLOAT, 3).params());

    HadoopDirectoryWriter.replace(target, conf, sink -> writeModel(sink, second, false));
    assertTrue(!fs.exists(new org.apache.hadoop.fs.Path(target, "model.safetensors.index.json")),
        "the previous export's files are gone");
    assertSameWeights(second, CausalLm.load(FileSources.open(target, conf), DataType.FLOAT, 3).params());

    IOException failure = org.junit.jupiter.api.Assertions.assertThrows(IOException.class,
        () -> HadoopDirectoryWriter.replace(target, conf, sink -> {
          writeModel(sink, first, true);
          throw new IOException("disk full (simulated)");
        }));
    assertEquals("disk full (simulated)", failure.getMessage());
    assertSameWeights(second, CausalLm.load(FileSources.open(target, conf), DataType.FLOAT, 3).params());
    org.apache.hadoop.fs.FileStatus[] siblings = fs.listStatus(new org.apache.hadoop.fs.Path(target).getParent());
    assertEquals(1, siblings.length, "only final/A: " + java.util.Arrays.toString(siblings));
  }

  private static void writeModel(ai.cory.common.io.FileSink sink, Parameters params, boolean sharded)
      throws IOException {
    java.util.Map<String, org.nd4j.linalg.api.ndarray.INDArray> tensors = new java.util.LinkedHashMap<>();
    for (String name : params.names()) {
      tensors.put(name, params.get(name));
    }
    if (sharded) {
      ai.cory.common.io.SafeTensorsWriter.writeSharded(sink, tensors, ai.cory.common.io.SafeTensorsDtype.F32,
          1 << 12);
    } else {
      ai.cory.common.io.SafeTensorsWriter.write(sink, "model.safetensors", tensors,
          ai.cory.common.io.SafeTensorsDtype.F32);
    }
    try (java.io.OutputStream out = sink.create(ai.cory.common.model.HfConfigReader.CONFIG_FILE)) {
      out.write(ai.cory.common.model.HfConfigWriter.toJson(CheckpointFixtures.GPT2, DataType.FLOAT));
    }
  }

  private static void assertSameWeights(Parameters want, Parameters got) {
    for (String name : want.names()) {
      if (!name.startsWith("v_head.")) {
        assertArrayEquals(bits(want.get(name)), bits(got.get(name)), name);
      }
    }
  }

  /** The handle as the driver receives it from the executor. */
  private static PendingCheckpoint shipped(PendingCheckpoint pending) throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(pending);
    }
    try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
      PendingCheckpoint received = (PendingCheckpoint) in.readObject();
      assertEquals(pending, received);
      return received;
    }
  }
}
