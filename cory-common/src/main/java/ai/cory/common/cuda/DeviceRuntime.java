package ai.cory.common.cuda;

import ai.cory.common.config.Compute;
import ai.cory.common.model.Accelerator;

/**
 * The device a replica's models are placed on ({@code CausalLm.placeOn}): the chosen GPU opened
 * with every kernel compiled for it (NVRTC, cubins cached), one arena sized from the memory
 * plan, and the engine's {@link Accelerator} over them in the configured GEMM math. Closing it
 * frees the arena and the context; the models placed on it must not be used afterwards.
 */
public final class DeviceRuntime implements AutoCloseable {
  private final CudaContext context;
  private final DeviceArena arena;
  private final Accelerator accelerator;

  private DeviceRuntime(CudaContext context, DeviceArena arena, Accelerator accelerator) {
    this.context = context;
    this.arena = arena;
    this.accelerator = accelerator;
  }

  /**
   * Opens {@code gpu} with an arena of {@code arenaBytes}.
   *
   * @throws CudaException one line when the libraries, the GPU or the memory are not there
   */
  public static DeviceRuntime open(GpuInfo gpu, long arenaBytes, Compute.GemmMath math) {
    CudaContext ctx = CudaContext.open(gpu, KernelCache.standard(Nvrtc.load()));
    DeviceArena arena = null;
    try {
      arena = ctx.arena(arenaBytes);
      return new DeviceRuntime(ctx, arena, new CudaAccelerator(ctx, arena, math));
    } catch (RuntimeException e) {
      if (arena != null) {
        arena.close();
      }
      ctx.close();
      throw e;
    }
  }

  /**
   * The arena for a replica whose memory plan needs {@code plannedBytes}: the plan and a quarter
   * more plus 1 GiB (workspaces regrown for longer batches, the dequantisation tile, blocks
   * handed over from the host), capped by what the GPU has free less 512 MiB for the CUDA
   * libraries' own allocations; without a plan ({@code plannedBytes <= 0}) all of that.
   */
  public static long arenaBytes(GpuInfo gpu, long plannedBytes) {
    if (plannedBytes <= 0) { // no plan (a command on one model): what the GPU has free
      return gpu.freeBytes() - (512L << 20);
    }
    long wanted = plannedBytes + plannedBytes / 4 + (1L << 30);
    return Math.max(plannedBytes, Math.min(wanted, gpu.freeBytes() - (512L << 20)));
  }

  /** Where models are placed. */
  public Accelerator accelerator() {
    return accelerator;
  }

  /** Bytes of the arena in use (weights, adapters, gradients, workspaces, caches). */
  public long usedBytes() {
    return arena.used();
  }

  @Override
  public void close() {
    try {
      arena.close();
    } finally {
      context.close();
    }
  }
}
