package ai.cory.worker.spark;

import ai.cory.common.cory.IterationPlan;
import ai.cory.worker.eval.EvalSampler;
import ai.cory.worker.eval.HeldOutRequest;
import ai.cory.worker.store.PendingCheckpoint;
import ai.cory.worker.train.IterationReport;
import java.io.Serializable;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.broadcast.Broadcast;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The executor side of one iteration: what each of the W tasks of the iteration's barrier stage
 * runs on its query shard.
 * <ol>
 *   <li>check out this executor's resident {@link Replica} of the run (loading it on first use);
 *   <li>meet the W-1 peers in the run's ring ({@code RingMembership.join}: the ring is kept when
 *       every replica is in step at its rank, rebuilt otherwise, and every task fails alike when
 *       a replica is out of step);
 *   <li>run the iteration ({@code CoryTrainer.runIteration}): rollouts, rewards, PPO steps with
 *       gradients and batch statistics averaged over the ring, identical optimizer steps;
 *   <li>fingerprint the replica's state when asked;
 *   <li>sample this rank's share of the held-out evaluation when asked ({@link HeldOutRequest});
 *   <li>rank 0 writes a checkpoint when asked ({@link ReplicaCheckpoints#write}; the driver
 *       commits it after the stage succeeded);
 *   <li>return a {@link TaskReport}.
 * </ol>
 * A replica whose task fails mid-iteration is discarded. Static code holding only Serializable
 * records (ARCHITECTURE.md decision 8).
 *
 * @param spec       the run's replica spec, broadcast: each executor receives and validates the
 *                   settings once per run, not once per task
 * @param plan       the iteration's plan (identical for every task)
 * @param verify     whether to fingerprint the replicas after this iteration
 * @param checkpoint what rank 0 checkpoints after this iteration, or null
 * @param heldOut    the held-out evaluation to sample after this iteration's update, or null
 */
public record IterationTask(Broadcast<ReplicaSpec> spec, IterationPlan plan, boolean verify, CheckpointRequest checkpoint,
    HeldOutRequest heldOut) implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(IterationTask.class);

  public IterationTask {
    Objects.requireNonNull(spec, "spec");
    Objects.requireNonNull(plan, "plan");
  }

  /** Runs the task on this barrier partition's only element. */
  public TaskReport run(BarrierTaskContext context, QueryShard shard) throws Exception {
    long t0 = System.nanoTime();
    int rank = context.partitionId();
    if (shard.rank() != rank) {
      throw new IllegalStateException("partition " + rank + " received the shard of rank " + shard.rank());
    }
    String host = ExecutorEnvironment.host();
    Replica replica = ReplicaPool.checkout(spec.value(), rank, host, ExecutorEnvironment.hadoopConfiguration()); // 1
    boolean loaded = replica.startTask() == 0;
    boolean healthy = false;
    try {
      String where = ExecutorEnvironment.executorId() + "@" + host + "/replica-" + replica.id();
      boolean connected = replica.ring().join(rank, plan.iteration(), replica.completedIteration(), where,
          context::allGather); // 2
      long t1 = System.nanoTime();
      IterationReport report = replica.trainer().runIteration(plan, shard.taskPrompts(), shard.firstGlobalRow()); // 3
      replica.markCompleted(plan.iteration());
      ReplicaChecksum checksum = verify ? ReplicaChecksum.of(plan.iteration(), replica.trainer()) : null; // 4
      long te = System.nanoTime();
      Map<String, List<EvalSampler.Result>> evaluated = heldOut == null ? null
          : heldOut.run(replica.trainer(), replica.assets().tokenizer(), spec.value().settings().generation(), rank,
              context.getTaskInfos().length);
      long tc = System.nanoTime();
      PendingCheckpoint written = checkpoint != null && rank == 0
          ? ReplicaCheckpoints.write(replica, checkpoint, ExecutorEnvironment.hadoopConfiguration()) : null; // 5
      long t2 = System.nanoTime();
      healthy = true;
      return new TaskReport(rank, ExecutorEnvironment.executorId(), host, replica.id(), // 6
          replica.ring().endpoint().toString(), report, checksum, loaded, connected, (t1 - t0) / 1e9,
          (t2 - t1 - (tc - te)) / 1e9, written, (t2 - tc) / 1e9, evaluated, (tc - te) / 1e9);
    } finally {
      replica.ring().leave();
      if (healthy) {
        ReplicaPool.checkin(replica);
      } else {
        LOG.warn("iteration {} rank {}: task failed, discarding replica {}", plan.iteration(), rank, replica.id());
        ReplicaPool.discard(replica);
      }
    }
  }
}
