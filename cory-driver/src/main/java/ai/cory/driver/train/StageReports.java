package ai.cory.driver.train;

import ai.cory.common.metrics.MetricNames;
import ai.cory.worker.spark.ReplicaChecksum;
import ai.cory.worker.spark.TaskReport;
import ai.cory.worker.train.IterationReport;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns the W task reports of one iteration into the run's record of it, after checking that
 * the replicas are still identical.
 *
 * <p>Every metric except the timings is computed by every worker from the same allreduced sums,
 * so the W values must agree to the bit; a difference, like a difference in the replicas'
 * parameter fingerprints ({@link ReplicaChecksum}), means the replicas diverged and fails the
 * run. The merged report keeps those metrics once, takes the slowest worker's time for each
 * {@code time/*} entry (the iteration waits for it) and adds the driver's view:
 * {@code time/stage} (the whole barrier stage, scheduling included) and {@code time/setup}
 * (slowest replica checkout, endpoint exchange and ring set-up).
 */
final class StageReports {
  private StageReports() {}

  /**
   * @param iteration    k
   * @param reports      one report per rank, any order
   * @param workers      W
   * @param stageSeconds the stage's wall time on the driver
   * @throws ReplicaDivergenceException when replicas or their metrics differ
   */
  static IterationReport merge(long iteration, List<TaskReport> reports, int workers, double stageSeconds) {
    List<TaskReport> byRank = new ArrayList<>(reports);
    byRank.sort(Comparator.comparingInt(TaskReport::rank));
    if (byRank.size() != workers) {
      throw new IllegalStateException("iteration " + iteration + ": " + byRank.size() + " task reports for "
          + workers + " workers");
    }
    for (int r = 0; r < workers; r++) {
      TaskReport t = byRank.get(r);
      if (t.rank() != r || t.report().iteration() != iteration) {
        throw new IllegalStateException("iteration " + iteration + ": expected the report of rank " + r
            + " for this iteration, got rank " + t.rank() + " of iteration " + t.report().iteration());
      }
    }
    TaskReport first = byRank.get(0);
    checkChecksums(iteration, byRank);
    checkMetrics(iteration, byRank);
    Map<String, Double> merged = new LinkedHashMap<>();
    first.report().metrics().forEach((name, value) -> {
      if (name.startsWith(MetricNames.TIME_PREFIX)) {
        double slowest = value;
        for (TaskReport t : byRank) {
          slowest = Math.max(slowest, t.report().metric(name));
        }
        merged.put(name, slowest);
      } else {
        merged.put(name, value);
      }
    });
    double setup = 0;
    double checkpoint = 0;
    double eval = 0;
    for (TaskReport t : byRank) {
      setup = Math.max(setup, t.setupSeconds());
      checkpoint = Math.max(checkpoint, t.checkpointSeconds());
      eval = Math.max(eval, t.evalSeconds());
    }
    merged.put(MetricNames.TIME_SETUP, setup);
    // rank 0's checkpoint write inside the stage (0 when this iteration writes none); the
    // driver's commit (a rename and a marker) comes after and is not included
    merged.put(MetricNames.TIME_CHECKPOINT, checkpoint);
    merged.put(MetricNames.TIME_STAGE, stageSeconds);
    merged.put(MetricNames.TIME_EVAL, eval);
    IterationReport r = first.report();
    return new IterationReport(r.iteration(), r.pioneer(), r.generationLength(), r.exchanged(), merged, r.samples());
  }

  private static void checkChecksums(long iteration, List<TaskReport> byRank) {
    ReplicaChecksum reference = byRank.get(0).checksum();
    for (TaskReport t : byRank) {
      if ((t.checksum() == null) != (reference == null)) {
        throw new IllegalStateException("iteration " + iteration + ": " + t.where() + " did not fingerprint its "
            + "replica like rank 0 did");
      }
      if (reference != null) {
        List<String> diff = reference.differences(t.checksum());
        if (!diff.isEmpty()) {
          throw new ReplicaDivergenceException("iteration " + iteration + ": the replica of " + t.where()
              + " differs from rank 0's (" + byRank.get(0).where() + "): " + String.join(", ", diff));
        }
      }
    }
  }

  private static void checkMetrics(long iteration, List<TaskReport> byRank) {
    IterationReport reference = byRank.get(0).report();
    for (TaskReport t : byRank) {
      IterationReport other = t.report();
      if (other.pioneer() != reference.pioneer() || other.generationLength() != reference.generationLength()
          || other.exchanged() != reference.exchanged()) {
        throw new ReplicaDivergenceException("iteration " + iteration + ": " + t.where() + " ran pioneer "
            + other.pioneer() + ", L " + other.generationLength() + ", exchange " + other.exchanged()
            + " but rank 0 ran " + reference.pioneer() + ", " + reference.generationLength() + ", "
            + reference.exchanged());
      }
      if (!other.metrics().keySet().equals(reference.metrics().keySet())) {
        throw new ReplicaDivergenceException("iteration " + iteration + ": " + t.where() + " reports metrics "
            + other.metrics().keySet() + ", rank 0 " + reference.metrics().keySet());
      }
      for (Map.Entry<String, Double> e : reference.metrics().entrySet()) {
        if (e.getKey().startsWith(MetricNames.TIME_PREFIX)) {
          continue;
        }
        double mine = other.metric(e.getKey());
        if (Double.doubleToLongBits(mine) != Double.doubleToLongBits(e.getValue())) {
          throw new ReplicaDivergenceException("iteration " + iteration + ": batch-wide metric " + e.getKey()
              + " is " + mine + " on " + t.where() + " but " + e.getValue() + " on rank 0; the workers no longer "
              + "compute from the same state");
        }
      }
    }
  }
}
