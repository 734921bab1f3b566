package ai.cory.common.cuda;

import ai.cory.common.config.Compute;
import ai.cory.common.model.Accelerator;

/**
 * For tests in any module: an {@link Accelerator} over an {@link EmulatedDevice} (every launch
 * validated, then carried out in Java), so code that places models on a device runs here,
 * numerically, without a GPU. The arena's memory is on the Java heap.
 */
public final class EmulatedGpu {
  private EmulatedGpu() {}

  /** A float32-GEMM accelerator with an arena of {@code bytes}. */
  public static Accelerator open(long bytes) {
    EmulatedDevice device = new EmulatedDevice();
    return new CudaAccelerator(device, device.arena(bytes), Compute.GemmMath.FP32);
  }
}
