package ai.cory.common.cuda;

import java.util.List;

/**
 * What CUDA this machine offers, probed without failing: the driver's CUDA version and GPUs, or
 * why there are none. {@code bin/cory doctor} prints it; {@code model.device = auto} decides on
 * it; {@code model.device = cuda} refuses with its reason.
 */
public final class CudaDevices {
  private CudaDevices() {}

  /** The outcome of a probe: {@code unavailable} is null when the driver answered. */
  public record Probe(String unavailable, String driverVersion, List<GpuInfo> gpus) {
    public boolean usable() {
      return unavailable == null && !gpus.isEmpty();
    }

    /** Why no GPU can be used, in one line (null when one can). */
    public String whyNot() {
      if (unavailable != null) {
        return unavailable;
      }
      return gpus.isEmpty() ? "the NVIDIA driver (CUDA " + driverVersion + ") shows no GPU to"
          + " this process (CUDA_VISIBLE_DEVICES=" + System.getenv("CUDA_VISIBLE_DEVICES") + ")"
          : null;
    }
  }

  /** Probes the driver and its GPUs (with free memory when asked); never throws. */
  public static Probe probe(boolean withFreeMemory) {
    try {
      CudaDriver driver = CudaDriver.get();
      return new Probe(null, driver.version(), List.copyOf(driver.devices(withFreeMemory)));
    } catch (CudaException e) {
      return new Probe(e.getMessage(), null, List.of());
    } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
      return new Probe("the CUDA driver cannot be loaded: "
          + CudaLibraries.firstLine(e.getMessage()), null, List.of());
    }
  }
}
