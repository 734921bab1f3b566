package ai.cory.driver.metrics;

import com.codahale.metrics.MetricRegistry;
import org.apache.spark.api.plugin.DriverPlugin;
import org.apache.spark.api.plugin.ExecutorPlugin;
import org.apache.spark.api.plugin.PluginContext;
import org.apache.spark.api.plugin.SparkPlugin;

/**
 * Puts the training metrics ({@link TrainingGauges}) into Spark's metrics system, so every
 * configured sink (the Prometheus servlet at {@code /metrics/prometheus}, JMX, Graphite, CSV)
 * carries them under the source {@code plugin.ai.cory.driver.metrics.CoryMetricsPlugin} of the
 * driver. A CORY run adds it to {@code spark.plugins}; the executors need nothing.
 */
public final class CoryMetricsPlugin implements SparkPlugin {
  @Override
  public DriverPlugin driverPlugin() {
    return new DriverPlugin() {
      private MetricRegistry registry;

      @Override
      public void registerMetrics(String appId, PluginContext context) {
        registry = context.metricRegistry();
        TrainingGauges.shared().attach(registry);
      }

      @Override
      public void shutdown() {
        if (registry != null) {
          TrainingGauges.shared().detach(registry);
        }
      }
    };
  }

  @Override
  public ExecutorPlugin executorPlugin() {
    return null; // the metrics are the driver's
  }
}
