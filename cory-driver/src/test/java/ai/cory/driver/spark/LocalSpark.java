package ai.cory.driver.spark;

import org.apache.spark.sql.SparkSession;

/** A small local Spark session for tests: loopback only, no UI. */
final class LocalSpark {
  private LocalSpark() {}

  static SparkSession start(int slots) {
    return SparkSession.builder()
        .master("local[" + slots + "]")
        .appName("cory-test")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate();
  }
}
