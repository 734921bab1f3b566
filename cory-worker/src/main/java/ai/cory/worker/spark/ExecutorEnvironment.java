package ai.cory.worker.spark;

import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;
import scala.Tuple2;

/** What executor code reads from the Spark environment it runs in. */
public final class ExecutorEnvironment {
  private ExecutorEnvironment() {}

  /** This executor's host as Spark knows it (the driver's in local mode). */
  public static String host() {
    return env().blockManager().blockManagerId().host();
  }

  /** This executor's id ({@code driver} in local mode). */
  public static String executorId() {
    return env().executorId();
  }

  /**
   * A Hadoop configuration with the application's {@code spark.hadoop.*} properties (e.g.
   * {@code spark.hadoop.fs.s3a.endpoint}), as Spark itself builds it for its readers.
   */
  public static Configuration hadoopConfiguration() {
    Configuration conf = new Configuration();
    for (Tuple2<String, String> kv : env().conf().getAllWithPrefix("spark.hadoop.")) {
      conf.set(kv._1(), kv._2());
    }
    return conf;
  }

  /**
   * The addresses of the {@code gpu} resource Spark assigned the running task (empty outside a
   * task or without GPU scheduling: then the local GPU 0 is meant).
   */
  public static List<String> gpuAddresses() {
    TaskContext task = TaskContext.get();
    ResourceInformation gpu = task == null ? null : task.resourcesJMap().get("gpu");
    return gpu == null ? List.of() : List.of(gpu.addresses());
  }

  private static SparkEnv env() {
    SparkEnv env = SparkEnv.get();
    if (env == null) {
      throw new IllegalStateException("no Spark environment: executor code must run inside a Spark task");
    }
    return env;
  }
}
