package ai.cory.common.cuda;

import java.util.List;

/**
 * Which GPU an executor uses, and whether it can hold the replica. On a cluster Spark assigns
 * each executor its GPUs ({@code spark.executor.resource.gpu.amount}, the task's {@code gpu}
 * resource); the first assigned address is the CUDA ordinal, as the discovery script reports
 * ordinals of the GPUs the container sees. Locally (no assignment) it is ordinal 0, which the
 * driver maps through {@code CUDA_VISIBLE_DEVICES}. Every refusal is one line naming the
 * executor, the GPU, what it has and what is needed.
 */
public final class GpuSelection {
  /** Ampere (sm_80) is the oldest architecture the backend targets. */
  public static final int MIN_ARCH = 80;

  private GpuSelection() {}

  /** A chosen GPU, or why none can be used ({@code gpu} null). */
  public record Selection(GpuInfo gpu, String refusal) {
    public boolean ok() {
      return refusal == null;
    }
  }

  /**
   * @param probe        what the driver shows this process (with free memory)
   * @param addresses    the task's Spark {@code gpu} addresses; empty when none were assigned
   * @param neededBytes  the memory plan's bytes for one replica on the device
   * @param executor     the executor's name for messages ({@code executor 3 on host-a})
   */
  public static Selection select(CudaDevices.Probe probe, List<String> addresses,
      long neededBytes, String executor) {
    if (!probe.usable()) {
      return refuse(executor + " has no usable GPU: " + probe.whyNot());
    }
    int ordinal = 0;
    if (!addresses.isEmpty()) {
      String a = addresses.get(0).trim();
      try {
        ordinal = Integer.parseInt(a);
      } catch (NumberFormatException e) {
        return refuse(executor + " was assigned GPU address '" + a + "' by Spark, which is not "
            + "a CUDA device ordinal (check the GPU discovery script)");
      }
    }
    List<GpuInfo> gpus = probe.gpus();
    if (ordinal < 0 || ordinal >= gpus.size()) {
      return refuse(executor + " was assigned GPU " + ordinal + " but the driver shows it "
          + gpus.size() + " GPU(s) (CUDA_VISIBLE_DEVICES=" + System.getenv("CUDA_VISIBLE_DEVICES")
          + ")");
    }
    GpuInfo gpu = gpus.get(ordinal);
    if (gpu.arch() < MIN_ARCH) {
      return refuse(executor + ": " + gpu.describe() + " is older than Ampere; the CUDA "
          + "backend needs compute capability 8.0 or newer (sm_80, sm_86, sm_89, sm_90)");
    }
    long available = gpu.freeBytes() >= 0 ? gpu.freeBytes() : gpu.totalBytes();
    if (neededBytes > available) {
      return refuse(executor + ": " + gpu.describe() + " cannot hold the replica: the memory "
          + "plan needs " + GpuInfo.gib(neededBytes) + " (bin/cory plan shows its parts; LoRA with "
          + "an nf4 base and recomputed activations shrink it)");
    }
    return new Selection(gpu, null);
  }

  private static Selection refuse(String why) {
    return new Selection(null, why);
  }
}
