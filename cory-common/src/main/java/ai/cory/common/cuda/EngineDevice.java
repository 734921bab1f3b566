package ai.cory.common.cuda;

import ai.cory.common.config.Compute;
import java.util.List;
import java.util.function.Consumer;

/**
 * Resolves {@code cory.model.device} for one replica (an executor, or the local JVM before a
 * local run starts). {@code cpu} is the CPU engine. {@code cuda} needs a usable GPU: the one
 * Spark assigned (or the local one), Ampere or newer, with the memory plan's bytes free; a
 * refusal is one {@link CudaException} line naming executor, GPU, what it has and what is
 * needed. {@code auto} takes that GPU when it is usable and the CPU otherwise, saying why.
 * Replicas and the {@code generate} / {@code bench} commands then place their models on the
 * chosen GPU ({@code CausalLm.placeOn} over a {@link DeviceRuntime}).
 */
public final class EngineDevice {
  private EngineDevice() {}

  /** Where a replica's models run: the CPU ({@code gpu} null) or that GPU. */
  public record Placement(Compute.Device device, GpuInfo gpu) {}

  /**
   * The device for a replica whose models can be placed on a GPU.
   *
   * @param addresses   the task's Spark {@code gpu} addresses (empty locally)
   * @param neededBytes the memory plan's bytes for one replica
   * @param executor    who is asking, for messages ({@code executor 3 on host-a})
   * @param log         where the decision is reported
   */
  public static Placement place(Compute compute, List<String> addresses, long neededBytes,
      String executor, Consumer<String> log) {
    if (compute.device() == Compute.Device.CPU) {
      return new Placement(Compute.Device.CPU, null);
    }
    GpuSelection.Selection s = GpuSelection.select(CudaDevices.probe(true), addresses,
        neededBytes, executor);
    if (!s.ok()) {
      if (compute.device() == Compute.Device.AUTO) {
        log.accept("cory.model.device = auto: cpu, because " + s.refusal());
        return new Placement(Compute.Device.CPU, null);
      }
      throw new CudaException("cory.model.device = cuda: " + s.refusal());
    }
    log.accept("cory.model.device = " + compute.device().name().toLowerCase(java.util.Locale.ROOT)
        + ": " + executor + " runs on " + s.gpu().describe()
        + (neededBytes > 0 ? ", the memory plan needs " + GpuInfo.gib(neededBytes) : ""));
    return new Placement(Compute.Device.CUDA, s.gpu());
  }
}
