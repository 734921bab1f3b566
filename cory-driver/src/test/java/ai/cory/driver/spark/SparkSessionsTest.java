package ai.cory.driver.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;

/**
 * A local run's Spark UI never listens on every interface and has no kill button; the metrics
 * plugin joins the user's plugins once.
 */
final class SparkSessionsTest {

  @Test
  void theUiOfALocalRunIsOffUnlessItCanListenOnLoopback() {
    SparkConf plain = new SparkConf(false);
    SparkSessions.closeLocalUi(plain, null); // Spark would bind 0.0.0.0
    assertEquals("false", plain.get("spark.ui.enabled"));
    assertEquals("false", plain.get("spark.ui.killEnabled"));

    SparkConf loopback = new SparkConf(false);
    SparkSessions.closeLocalUi(loopback, "127.0.0.1");
    assertFalse(loopback.contains("spark.ui.enabled"), "Spark's default: on, bound to 127.0.0.1");
    assertEquals("false", loopback.get("spark.ui.killEnabled"));

    SparkConf chosen = new SparkConf(false).set("spark.ui.enabled", "true").set("spark.ui.killEnabled", "true");
    SparkSessions.closeLocalUi(chosen, "10.1.2.3");
    assertEquals("true", chosen.get("spark.ui.enabled"), "the user's explicit choice stands");
    assertEquals("true", chosen.get("spark.ui.killEnabled"));
  }

  @Test
  void theMetricsPluginJoinsTheUsersPluginsOnce() {
    SparkConf none = new SparkConf(false);
    SparkSessions.addPlugin(none, "a.B");
    assertEquals("a.B", none.get("spark.plugins"));
    SparkConf theirs = new SparkConf(false).set("spark.plugins", "com.nvidia.spark.SQLPlugin");
    SparkSessions.addPlugin(theirs, "a.B");
    SparkSessions.addPlugin(theirs, "a.B");
    assertEquals("com.nvidia.spark.SQLPlugin,a.B", theirs.get("spark.plugins"));
  }
}
