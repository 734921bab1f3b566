package ai.cory.common.cuda;

import ai.cory.common.config.Compute;
import java.util.List;
import java.util.function.Consumer;

/**
 * Resolves {@code cory.model.device} for one replica (an executor, or the local JVM before a
 * local run starts). {@code cpu} is the CPU engine. {@code cuda} needs a usable GPU: the one
 * Spark assigned (or the local one), Ampere or newer, with the memory plan's bytes free; a
 * refusal is one {@link CudaException} line naming executor, GPU, what it has and what is
 * needed. In this build the engine's layers run on the CPU: the CUDA kernels, cuBLAS and the
 * device runtime are in, checked on a GPU by {@code bin/cory doctor --gpu-check}, but not yet
 * wired under the model, so a usable GPU under {@code cuda} is refused too, saying exactly that,
 * rather than training on the CPU behind the user's back. {@code auto} takes the CPU and says
 * why.
 */
public final class EngineDevice {
  private EngineDevice() {}

  /**
   * @param addresses   the task's Spark {@code gpu} addresses (empty locally)
   * @param neededBytes the memory plan's bytes for one replica
   * @param executor    who is asking, for messages ({@code executor 3 on host-a})
   * @param log         where {@code auto}'s decision is reported
   * @return the device the engine runs on
   */
  public static Compute.Device resolve(Compute compute, List<String> addresses, long neededBytes,
      String executor, Consumer<String> log) {
    if (compute.device() == Compute.Device.CPU) {
      return Compute.Device.CPU;
    }
    GpuSelection.Selection s = GpuSelection.select(CudaDevices.probe(true), addresses,
        neededBytes, executor);
    String notWired = "the engine's layers run on the CPU in this build (the CUDA kernels are "
        + "checked by bin/cory doctor --gpu-check but not yet wired under the model; "
        + "docs/engine.md, Backends)";
    if (compute.device() == Compute.Device.AUTO) {
      log.accept("cory.model.device = auto: cpu, because " + (s.ok()
          ? executor + " has " + s.gpu().describe() + " but " + notWired : s.refusal()));
      return Compute.Device.CPU;
    }
    if (!s.ok()) {
      throw new CudaException("cory.model.device = cuda: " + s.refusal());
    }
    throw new CudaException("cory.model.device = cuda: " + executor + " has " + s.gpu().describe()
        + (neededBytes > 0 ? ", which fits the memory plan's " + GpuInfo.gib(neededBytes) : "")
        + ", but " + notWired + "; use the cpu device (or auto)");
  }
}
