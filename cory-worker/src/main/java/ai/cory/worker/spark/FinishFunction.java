package ai.cory.worker.spark;

import ai.cory.common.cory.AgentId;
import ai.cory.common.io.FileSource;
import ai.cory.common.model.HfExport;
import ai.cory.worker.store.HadoopDirectoryWriter;
import ai.cory.worker.train.Agent;
import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.broadcast.Broadcast;
import scala.collection.Iterator;
import scala.collection.JavaConverters;
import scala.runtime.AbstractFunction1;

/**
 * The last stage of a run (a barrier stage of W tasks, so it reaches every worker's executor):
 * rank 0 exports both agents from its resident replica as Hugging Face model directories, or
 * with LoRA as PEFT adapter directories (and, asked to, merged models) ({@link HfExport}, the
 * same files as a checkpoint's agents) to {@code <store>/final/<agent>}
 * (any Hadoop FileSystem, each directory replaced atomically) when {@code cory.run.export-final}
 * is set, then every task closes its replica (memory, Aeron ring, media-driver reference).
 * Returns one line per task for the log.
 */
public final class FinishFunction extends AbstractFunction1<Iterator<Integer>, Iterator<String>>
    implements Serializable {
  /** Suffix of an agent's merged export ({@code cory.model.lora.export-merged}). */
  public static final String MERGED_SUFFIX = "-merged";
  /** Directory of the exported agents under the run's store. */
  public static final String FINAL_DIR = "final";
  private static final long serialVersionUID = 1L;

  private final Broadcast<ReplicaSpec> spec;
  private final String store;
  private final long lastIteration;

  /**
   * @param spec  the run's replica spec, broadcast
   * @param store the run's store location ({@code cory.run.store} or the run directory's URI)
   */
  public FinishFunction(Broadcast<ReplicaSpec> spec, String store, long lastIteration) {
    this.spec = Objects.requireNonNull(spec, "spec");
    this.store = Objects.requireNonNull(store, "store");
    this.lastIteration = lastIteration;
  }

  /** Exported directory of {@code agent} under a store location (any Hadoop URI). */
  public static String exportLocation(String store, AgentId agent) {
    return store.replaceAll("/+$", "") + "/" + FINAL_DIR + "/" + agent.key();
  }

  @Override
  public Iterator<String> apply(Iterator<Integer> partition) {
    int rank = BarrierTaskContext.get().partitionId();
    List<String> lines = new ArrayList<>();
    Replica replica = null;
    try {
      // this executor's replica; a run resumed at its very end loads it from the checkpoint
      replica = ReplicaPool.checkout(spec.value(), rank, ExecutorEnvironment.host(),
          ExecutorEnvironment.hadoopConfiguration());
      if (rank == 0 && replica.spec().settings().run().exportFinal()) {
        if (replica.completedIteration() != lastIteration) {
          throw new IllegalStateException("rank 0 (" + ExecutorEnvironment.executorId() + " on "
              + ExecutorEnvironment.host() + ") holds no replica at iteration " + lastIteration + " to export");
        }
        FileSource source = replica.assets().model().files();
        for (Agent agent : replica.trainer().agents()) {
          String dir = HadoopDirectoryWriter.replace(exportLocation(store, agent.id()),
              ExecutorEnvironment.hadoopConfiguration(), sink -> HfExport.write(sink, agent.policy().paramsToRead(), source));
          lines.add("agent " + agent.id().key() + " exported to " + dir);
          if (agent.policy().lora() != null && replica.spec().settings().model().lora().exportMerged()) {
            String merged = HadoopDirectoryWriter.replace(exportLocation(store, agent.id()) + MERGED_SUFFIX,
                ExecutorEnvironment.hadoopConfiguration(), sink -> HfExport.write(sink, agent.policy().merged(), source));
            lines.add("agent " + agent.id().key() + " merged into its base, exported to " + merged);
          }
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
    return JavaConverters.asScalaIterator(lines.iterator());
  }
}
