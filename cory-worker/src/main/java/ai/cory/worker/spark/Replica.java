package ai.cory.worker.spark;

import ai.cory.common.checkpoint.Checkpoint;
import ai.cory.common.config.Compute;
import ai.cory.common.config.RuntimeSettings;
import ai.cory.common.config.Settings;
import ai.cory.common.cuda.DeviceRuntime;
import ai.cory.common.cuda.EngineDevice;
import ai.cory.common.model.ModelConfig;
import ai.cory.common.model.Parameters;
import ai.cory.worker.comm.RingMembership;
import ai.cory.worker.store.FileSources;
import ai.cory.worker.train.CoryTrainer;
import ai.cory.worker.train.MemoryPlan;
import java.io.IOException;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.hadoop.conf.Configuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One executor-resident worker of a run: the pretrained model, both agents with their optimizer
 * state and scratch buffers ({@link CoryTrainer}), and its membership in the run's Aeron ring
 * ({@link RingMembership}, which is also the trainer's collective). Built once per executor (per
 * concurrent task slot) from the run's {@link ReplicaSpec} and reused by every iteration: nothing
 * of it crosses Spark. Every replica of a run holds the same state after each iteration, so any
 * task may check out any replica.
 *
 * <p>Used by one task at a time ({@link ReplicaPool} hands it out).
 */
public final class Replica implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Replica.class);
  /** Replica ids, for logs and reports. */
  private static final AtomicInteger NEXT_ID = new AtomicInteger();

  private final int id = NEXT_ID.incrementAndGet();
  private final ReplicaSpec spec;
  private final WorkerAssets assets;
  private final RingMembership ring;
  private final CoryTrainer trainer;
  private final DeviceRuntime device;       // the GPU the models are placed on, null on the CPU
  private long completedIteration = RingMembership.NONE_COMPLETED;
  private int tasksStarted;

  private Replica(ReplicaSpec spec, WorkerAssets assets, RingMembership ring, Parameters initialAdapters,
      DeviceRuntime device) {
    this.spec = spec;
    this.assets = assets;
    this.ring = ring;
    this.device = device;
    this.trainer = new CoryTrainer(spec.settings(), assets.pretrained(), assets.tokenizer(), assets.reward(), ring,
        initialAdapters, device == null ? null : device.accelerator());
  }

  /**
   * Loads a replica: reads the model named by the settings (or the checkpoint to resume from),
   * builds both agents and takes a reference to this JVM's media driver.
   *
   * @param host   this executor's address (UDP endpoints bind and advertise it unless the
   *               settings name one)
   * @param hadoop the FileSystem configuration of this executor
   */
  static Replica load(ReplicaSpec spec, String host, Configuration hadoop) throws IOException {
    long t0 = System.nanoTime();
    DevicePlan plan = checkDevice(spec.settings(), host, hadoop);
    WorkerAssets assets = WorkerAssets.load(spec.settings(), hadoop);
    RingMembership ring = null;
    DeviceRuntime device = null;
    Checkpoint resume;
    Replica replica;
    try {
      RuntimeSettings runtime = spec.runtime();
      resume = spec.resumeFrom() == null ? null
          : Checkpoint.open(FileSources.open(spec.resumeFrom(), hadoop)); // verifies every checksum
      ring = RingMembership.open(new RingMembership.Options(spec.workers(), spec.transport(),
          spec.bindAddress() != null ? spec.bindAddress() : host, runtime.aeronDirectory(), runtime.chunkBytes(),
          runtime.collectiveTimeoutMs(), spec.ringToken(), spec.frameKeyBytes()));
      if (plan.placement().gpu() != null) {
        device = DeviceRuntime.open(plan.placement().gpu(),
            DeviceRuntime.arenaBytes(plan.placement().gpu(), plan.bytes()),
            spec.settings().model().compute().gemm());
      }
      replica = new Replica(spec, assets, ring, resume == null ? assets.initialAdapters(spec.settings(), hadoop) : null,
          device);
    } catch (IOException | RuntimeException e) {
      if (device != null) {
        device.close();
      }
      if (ring != null) {
        ring.close();
      }
      assets.close();
      throw e;
    }
    if (resume != null) {
      try {
        ReplicaCheckpoints.restore(replica.trainer, spec.settings(), resume);
      } catch (IOException | RuntimeException e) {
        replica.close();
        throw e;
      }
      replica.completedIteration = resume.iteration() - 1;
    }
    Long base = replica.trainer.baseFingerprint();
    LOG.info("replica {} of run {} loaded in {} s{}{}", replica.id, spec.runId(),
        String.format("%.2f", (System.nanoTime() - t0) / 1e9),
        base == null ? "" : String.format(", LoRA base %s crc32c %08x", spec.settings().model().baseDtype().key(), base),
        resume == null ? "" : ", resumed from " + resume.location());
    return replica;
  }

  /** Where the replica's models run and the memory plan's bytes for one replica. */
  private record DevicePlan(EngineDevice.Placement placement, long bytes) {}

  /**
   * {@code cory.model.device}: the GPU Spark assigned this executor (or the local one) checked
   * against the memory plan before any weight is read; one line on refusal.
   */
  private static DevicePlan checkDevice(Settings settings, String host, Configuration hadoop) throws IOException {
    if (settings.model().compute().device() == Compute.Device.CPU) {
      return new DevicePlan(new EngineDevice.Placement(Compute.Device.CPU, null), 0);
    }
    ModelConfig cfg = WorkerAssets.model(settings, FileSources.resolver(hadoop)).config();
    long bytes = MemoryPlan.of(settings, cfg).replicaBytes();
    return new DevicePlan(EngineDevice.place(settings.model().compute(), ExecutorEnvironment.gpuAddresses(),
        bytes, "executor " + ExecutorEnvironment.executorId() + " on " + host, LOG::info), bytes);
  }

  /** Id of this replica within its JVM (logs). */
  public int id() {
    return id;
  }

  /** The run this replica belongs to. */
  public ReplicaSpec spec() {
    return spec;
  }

  /** The agents, reference and PPO machinery. */
  public CoryTrainer trainer() {
    return trainer;
  }

  /** The model, tokenizer and reward this replica was built from. */
  public WorkerAssets assets() {
    return assets;
  }

  /** This replica's place in the run's ring. */
  public RingMembership ring() {
    return ring;
  }

  /** Last iteration this replica's state includes, {@link RingMembership#NONE_COMPLETED} when fresh. */
  public long completedIteration() {
    return completedIteration;
  }

  /** Counts a task starting on this replica; returns how many started before (0: just loaded). */
  int startTask() {
    return tasksStarted++;
  }

  void markCompleted(long iteration) {
    completedIteration = iteration;
  }

  /** Frees the ring, the media-driver reference, the trainer's buffers, the GPU and the assets. */
  @Override
  public void close() {
    try {
      ring.close();
    } finally {
      try {
        trainer.close();
      } finally {
        try {
          if (device != null) {
            device.close();
          }
        } finally {
          assets.close();
        }
      }
    }
    LOG.info("replica {} of run {} closed", id, spec.runId());
  }
}
