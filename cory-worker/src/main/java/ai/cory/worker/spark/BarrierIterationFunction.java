package ai.cory.worker.spark;

import java.io.Serializable;
import java.util.List;
import java.util.Objects;
import org.apache.spark.BarrierTaskContext;
import scala.collection.Iterator;
import scala.collection.JavaConverters;
import scala.runtime.AbstractFunction1;

/**
 * The partition function of an iteration's barrier stage ({@code RDD.barrier().mapPartitions}):
 * each partition holds exactly one {@link QueryShard} and yields one {@link TaskReport}. A
 * top-level class holding only a Serializable record (ARCHITECTURE.md decision 8).
 */
public final class BarrierIterationFunction extends AbstractFunction1<Iterator<QueryShard>, Iterator<TaskReport>>
    implements Serializable {
  private static final long serialVersionUID = 1L;

  private final IterationTask task;

  public BarrierIterationFunction(IterationTask task) {
    this.task = Objects.requireNonNull(task, "task");
  }

  @Override
  public Iterator<TaskReport> apply(Iterator<QueryShard> partition) {
    if (!partition.hasNext()) {
      throw new IllegalStateException("iteration " + task.plan().iteration() + ": barrier partition "
          + BarrierTaskContext.get().partitionId() + " holds no query shard");
    }
    QueryShard shard = partition.next();
    if (partition.hasNext()) {
      throw new IllegalStateException("iteration " + task.plan().iteration() + ": barrier partition "
          + shard.rank() + " holds more than one query shard");
    }
    TaskReport report;
    try {
      report = task.run(BarrierTaskContext.get(), shard);
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException("iteration " + task.plan().iteration() + " rank " + shard.rank() + ": "
          + e.getMessage(), e);
    }
    return JavaConverters.asScalaIterator(List.of(report).iterator());
  }
}
