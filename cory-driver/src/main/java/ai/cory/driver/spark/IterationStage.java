package ai.cory.driver.spark;

import ai.cory.worker.spark.BarrierIterationFunction;
import ai.cory.worker.spark.IterationTask;
import ai.cory.worker.spark.QueryShard;
import ai.cory.worker.spark.TaskReport;
import java.util.List;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.rdd.RDD;
import scala.reflect.ClassTag$;
import scala.reflect.ClassTag;

/**
 * One iteration as one Spark barrier stage: W partitions of one {@link QueryShard} each, all
 * scheduled together (gang scheduling), each running {@link IterationTask} on an executor and
 * returning a {@link TaskReport}. If any task fails Spark fails the whole stage.
 */
public final class IterationStage {
  private static final ClassTag<TaskReport> REPORT = ClassTag$.MODULE$.apply(TaskReport.class);

  private IterationStage() {}

  /**
   * Runs the stage and returns the W reports (any order).
   *
   * @throws TrainingFailedException naming the iteration and the first task failure
   */
  public static List<TaskReport> run(JavaSparkContext spark, IterationTask task, List<QueryShard> shards) {
    long k = task.plan().iteration();
    spark.setJobGroup("cory-" + task.spec().value().runId(), "CORY iteration " + k + " (" + shards.size() + " workers)",
        false);
    try {
      RDD<QueryShard> rdd = spark.parallelize(shards, shards.size()).rdd();
      RDD<TaskReport> reports = rdd.barrier().mapPartitions(new BarrierIterationFunction(task), false, REPORT);
      return new JavaRDD<>(reports, REPORT).collect();
    } catch (Exception e) { // SparkException is checked, though Scala declares nothing
      throw new TrainingFailedException("iteration " + k + " failed: " + TrainingFailedException.causes(e), e);
    } finally {
      spark.clearJobGroup();
    }
  }
}
