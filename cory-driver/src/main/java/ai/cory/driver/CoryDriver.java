package ai.cory.driver;

/**
 * The main class of the {@code spark-submit} application (the shaded {@code cory-driver} jar):
 * {@code spark-submit --class ai.cory.driver.CoryDriver cory-driver-*-spark.jar --config FILE
 * [--run-dir DIR] [path=value ...]} runs {@code bin/cory train} with the same arguments on the
 * session spark-submit configured (its {@code --master} wins over {@code cory.runtime.master}).
 * The settings are loaded and validated, and the model and dataset locations checked, before
 * the Spark session (and with it any executor) is requested.
 */
public final class CoryDriver {
  private CoryDriver() {}

  public static void main(String[] args) {
    String[] argv = new String[args.length + 1];
    argv[0] = "train";
    System.arraycopy(args, 0, argv, 1, args.length);
    int code = CoryCli.run(argv, System.out, System.err);
    // A local master runs Spark's executors in this JVM, and their barrier-task timer is a
    // non-daemon thread that outlives the context: exit explicitly. On a cluster, success
    // returns normally so the cluster manager sees a clean finish.
    boolean local = System.getProperty("spark.master", "local").startsWith("local");
    if (code != 0 || local) {
      System.exit(code);
    }
  }
}
