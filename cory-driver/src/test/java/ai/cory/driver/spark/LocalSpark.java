package ai.cory.driver.spark;

import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A small local Spark session for one test class (loopback only, no UI), started before its
 * tests and stopped after them. Runs under test join it, as they join spark-submit's session:
 * <pre>
 *   &#64;RegisterExtension
 *   static final LocalSpark SPARK = new LocalSpark(2);
 * </pre>
 */
final class LocalSpark implements BeforeAllCallback, AfterAllCallback {
  private final int slots;
  private SparkSession session;

  /** @param slots task slots of {@code local[slots]} */
  LocalSpark(int slots) {
    this.slots = slots;
  }

  /** The running session. */
  SparkSession session() {
    if (session == null) {
      throw new IllegalStateException("the local Spark session runs only while the test class does");
    }
    return session;
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    session = SparkSession.builder()
        .master("local[" + slots + "]")
        .appName("cory-test")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate();
  }

  @Override
  public void afterAll(ExtensionContext context) {
    if (session != null) {
      session.stop();
      session = null;
    }
  }
}
