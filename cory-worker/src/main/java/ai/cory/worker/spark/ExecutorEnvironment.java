package ai.cory.worker.spark;

import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkEnv;
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

  private static SparkEnv env() {
    SparkEnv env = SparkEnv.get();
    if (env == null) {
      throw new IllegalStateException("no Spark environment: executor code must run inside a Spark task");
    }
    return env;
  }
}
