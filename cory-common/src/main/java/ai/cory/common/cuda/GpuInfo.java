package ai.cory.common.cuda;

import java.util.Locale;

/**
 * One GPU as the driver reports it: CUDA ordinal (after {@code CUDA_VISIBLE_DEVICES}), name,
 * compute capability, total and free memory in bytes (free is -1 when it was not read).
 */
public record GpuInfo(int ordinal, String name, int ccMajor, int ccMinor, long totalBytes,
    long freeBytes) {
  /** Compute capability as {@code 10 * major + minor} (the {@code sm_XY} target). */
  public int arch() {
    return 10 * ccMajor + ccMinor;
  }

  /** One line: {@code GPU 0: NVIDIA H200, sm_90, 139.8 GiB (139.2 GiB free)}. */
  public String describe() {
    String free = freeBytes < 0 ? "" : " (" + gib(freeBytes) + " free)";
    return "GPU " + ordinal + ": " + name + ", sm_" + arch() + ", " + gib(totalBytes) + free;
  }

  static String gib(long bytes) {
    return String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30));
  }
}
