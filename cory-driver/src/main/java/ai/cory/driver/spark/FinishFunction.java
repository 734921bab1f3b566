package ai.cory.driver.spark;

import ai.cory.common.io.FileSource;
import ai.cory.common.io.HfConfigReader;
import ai.cory.common.io.HfConfigWriter;
import ai.cory.common.model.DemoModel;
import ai.cory.driver.train.TrainingLoop;
import ai.cory.worker.store.HadoopDirectoryWriter;
import ai.cory.worker.spark.ExecutorEnvironment;
import ai.cory.worker.spark.Replica;
import ai.cory.worker.spark.ReplicaPool;
import ai.cory.worker.spark.ReplicaSpec;
import ai.cory.worker.store.FileSources;
import ai.cory.worker.train.Agent;
import java.io.ByteArrayInputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.apache.spark.BarrierTaskContext;
import org.nd4j.linalg.api.buffer.DataType;
import scala.collection.Iterator;
import scala.jdk.javaapi.CollectionConverters;
import scala.runtime.AbstractFunction1;

/**
 * The last stage of a run (a barrier stage of W tasks, so it reaches every worker's executor):
 * rank 0 exports both agents from its resident replica in Hugging Face layout to
 * {@code <store>/final/<agent>} (any Hadoop FileSystem, each directory replaced atomically) when
 * {@code cory.run.export-final} is set, then every task closes its replica (memory, Aeron ring,
 * media-driver reference). Returns one line per task for the log.
 */
final class FinishFunction extends AbstractFunction1<Iterator<Integer>, Iterator<String>> implements Serializable {
  private static final long serialVersionUID = 1L;

  private final ReplicaSpec spec;
  private final String store;
  private final long lastIteration;

  /** @param store the run's store location ({@code cory.run.store} or the run directory's URI) */
  FinishFunction(ReplicaSpec spec, String store, long lastIteration) {
    this.spec = Objects.requireNonNull(spec, "spec");
    this.store = Objects.requireNonNull(store, "store");
    this.lastIteration = lastIteration;
  }

  @Override
  public Iterator<String> apply(Iterator<Integer> partition) {
    int rank = BarrierTaskContext.get().partitionId();
    List<String> lines = new ArrayList<>();
    Replica replica = null;
    try {
      // this executor's replica; a run resumed at its very end loads it from the checkpoint
      replica = ReplicaPool.checkout(spec, rank, ExecutorEnvironment.host(), ExecutorEnvironment.hadoopConfiguration());
      if (rank == 0 && spec.settings().run().exportFinal()) {
        if (replica.completedIteration() != lastIteration) {
          throw new IllegalStateException("rank 0 (" + ExecutorEnvironment.executorId() + " on "
              + ExecutorEnvironment.host() + ") holds no replica at iteration " + lastIteration + " to export");
        }
        FileSource pretrained = pretrainedDirectory();
        for (Agent agent : replica.trainer().agents()) {
          String dir = HadoopDirectoryWriter.replace(TrainingLoop.exportLocation(store, agent.id()),
              ExecutorEnvironment.hadoopConfiguration(), sink -> TrainingLoop.export(agent, pretrained, sink));
          lines.add("agent " + agent.id().key() + " exported to " + dir);
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException("exporting the agents to " + store + " failed: " + e.getMessage(), e);
    } finally {
      // each task closes the replica it holds; releasing the whole pool here would race with
      // the other tasks of this JVM (local masters), whose leftovers the driver releases
      if (replica != null) {
        ReplicaPool.discard(replica);
        lines.add("rank " + rank + " on " + ExecutorEnvironment.host() + ": released replica " + replica.id());
      }
    }
    return CollectionConverters.asScala(lines.iterator());
  }

  /**
   * Where the exported agents' config and tokenizer files come from: the pretrained model's
   * directory, or for the demo model (built in code) its {@code config.json} alone.
   */
  private FileSource pretrainedDirectory() throws IOException {
    String path = spec.settings().model().path();
    if (DemoModel.isDemo(path)) {
      return new DemoFiles(HfConfigWriter.toJson(DemoModel.config(), DataType.FLOAT));
    }
    return FileSources.open(path, ExecutorEnvironment.hadoopConfiguration());
  }

  /** The demo model's only companion file, its Hugging Face {@code config.json}. */
  private record DemoFiles(byte[] configJson) implements FileSource {
    @Override
    public boolean exists(String file) {
      return HfConfigReader.CONFIG_FILE.equals(file);
    }

    @Override
    public long size(String file) throws IOException {
      return bytes(file).length;
    }

    @Override
    public InputStream open(String file, long offsetBytes) throws IOException {
      byte[] b = bytes(file);
      return new ByteArrayInputStream(b, (int) Math.min(offsetBytes, b.length), b.length);
    }

    @Override
    public String describe(String file) {
      return DemoModel.NAME + ":" + file;
    }

    private byte[] bytes(String file) throws FileNotFoundException {
      if (!exists(file)) {
        throw new FileNotFoundException(describe(file) + " (the demo model has only " + HfConfigReader.CONFIG_FILE
            + ")");
      }
      return configJson;
    }
  }
}
