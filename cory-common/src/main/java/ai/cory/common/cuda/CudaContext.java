package ai.cory.common.cuda;

import ai.cory.common.config.Compute;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * One GPU opened for work: its primary context, every kernel source compiled for its exact
 * architecture (through the {@link KernelCache}) and loaded, cuBLAS, and device arenas. Calls
 * from a thread first make the context current there ({@link #bind}); the public methods do.
 */
public final class CudaContext implements DeviceOps, AutoCloseable {
  private final CudaDriver driver;
  private final GpuInfo gpu;
  private final int device;
  private final Pointer context;
  private final Map<String, Pointer> functions = new HashMap<>();
  private final Map<String, KernelSignature> signatures = new HashMap<>();
  private final Pointer[] modules;
  private Cublas cublas;
  private boolean closed;
  /** This object's number: a context opened again is bound again on every thread. */
  private final long id = IDS.incrementAndGet();
  private static final AtomicLong IDS = new AtomicLong();
  /** The number of the context each thread made current last. */
  private static final ThreadLocal<Long> BOUND = new ThreadLocal<>();

  private CudaContext(CudaDriver driver, GpuInfo gpu, KernelCache cache) {
    this.driver = driver;
    this.gpu = gpu;
    IntByReference dev = new IntByReference();
    driver.check("cuDeviceGet", driver.api().cuDeviceGet(dev, gpu.ordinal()));
    this.device = dev.getValue();
    PointerByReference ctx = new PointerByReference();
    driver.check("cuDevicePrimaryCtxRetain", driver.api().cuDevicePrimaryCtxRetain(ctx, device));
    this.context = ctx.getValue();
    bind();
    List<KernelSource> sources = KernelSource.all();
    this.modules = new Pointer[sources.size()];
    for (int i = 0; i < sources.size(); i++) {
      KernelSource s = sources.get(i);
      PointerByReference module = new PointerByReference();
      driver.check("cuModuleLoadData(" + s.name() + ", sm_" + gpu.arch() + ")",
          driver.api().cuModuleLoadData(module, cache.cubin(s, gpu.arch())));
      modules[i] = module.getValue();
      signatures.putAll(s.signatures());
      for (String entry : s.entries()) {
        PointerByReference f = new PointerByReference();
        driver.check("cuModuleGetFunction(" + entry + ")",
            driver.api().cuModuleGetFunction(f, modules[i], entry));
        functions.put(entry, f.getValue());
      }
    }
  }

  /** Opens GPU {@code gpu} with kernels compiled (or cached) for its architecture. */
  public static CudaContext open(GpuInfo gpu, KernelCache cache) {
    return new CudaContext(CudaDriver.get(), gpu, cache);
  }

  public GpuInfo gpu() {
    return gpu;
  }

  /**
   * Makes this context current on the calling thread; a thread that made it current already
   * makes no driver call (every launch and copy binds first).
   */
  public void bind() {
    Long current = BOUND.get();
    if (current == null || current != id) {
      driver.check("cuCtxSetCurrent", driver.api().cuCtxSetCurrent(context));
      BOUND.set(id);
    }
  }

  /** A device arena of {@code bytes} (one allocation). */
  @Override
  public DeviceArena arena(long bytes) {
    LongByReference p = new LongByReference();
    bind();
    driver.check("cuMemAlloc(" + GpuInfo.gib(bytes) + " arena on " + gpu.describe() + ")",
        driver.api().cuMemAlloc_v2(p, bytes));
    long base = p.getValue();
    return new DeviceArena(base, bytes, () -> {
      bind();
      driver.api().cuMemFree_v2(base);
    });
  }

  /** cuBLAS on this context (created on first use). */
  public Cublas cublas() {
    if (cublas == null) {
      bind();
      cublas = Cublas.create();
    }
    return cublas;
  }

  /**
   * Launches entry point {@code name} on the default stream. Arguments in the kernel's order:
   * {@code Long} (device pointers, 0 for null, and {@code long long}), {@code Integer},
   * {@code Float}, {@code Double}.
   */
  @Override
  public void launch(String name, int[] grid, int block, int sharedBytes, Object... args) {
    Pointer f = functions.get(name);
    if (f == null) {
      throw new IllegalArgumentException("no kernel " + name + " in " + KernelSource.NAMES);
    }
    signatures.get(name).check(args);
    Pointer params = LaunchArgs.of(name, args);
    bind();
    int rc = driver.api().cuLaunchKernel(f, grid[0], grid.length > 1 ? grid[1] : 1,
        grid.length > 2 ? grid[2] : 1, block, 1, 1, sharedBytes, Pointer.NULL, params,
        Pointer.NULL);
    if (rc != 0) {
      driver.check("cuLaunchKernel(" + name + ")", rc);
    }
  }

  @Override
  public void gemm(Compute.GemmMath math, boolean transA, boolean transB, int m, int n, int k,
      float alpha, long a, int lda, long b, int ldb, float beta, long c, int ldc) {
    bind();
    cublas().gemm(math, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }

  @Override
  public void gemmBf16(boolean transA, boolean transB, int m, int n, int k, float alpha, long a,
      int lda, long b, int ldb, float beta, long c, int ldc) {
    bind();
    cublas().gemmBf16(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }

  /** Waits for every launch and copy so far; surfaces a kernel's fault. */
  @Override
  public void synchronize() {
    bind();
    driver.check("cuCtxSynchronize", driver.api().cuCtxSynchronize());
  }

  /** Host floats to device memory at {@code dst}. */
  @Override
  public void upload(long dst, float[] src) {
    copyIn(dst, 4L * src.length, m -> m.write(0, src, 0, src.length));
  }

  @Override
  public void upload(long dst, int[] src) {
    copyIn(dst, 4L * src.length, m -> m.write(0, src, 0, src.length));
  }

  @Override
  public void upload(long dst, double[] src) {
    copyIn(dst, 8L * src.length, m -> m.write(0, src, 0, src.length));
  }

  @Override
  public void upload(long dst, byte[] src) {
    copyIn(dst, src.length, m -> m.write(0, src, 0, src.length));
  }

  /** {@code n} floats from device memory at {@code src}. */
  @Override
  public float[] downloadFloats(long src, int n) {
    Memory m = copyOut(src, 4L * n);
    return m.getFloatArray(0, n);
  }

  @Override
  public int[] downloadInts(long src, int n) {
    Memory m = copyOut(src, 4L * n);
    return m.getIntArray(0, n);
  }

  /** Stages {@code bytes} filled by {@code fill} in host memory and copies them to {@code dst}. */
  private void copyIn(long dst, long bytes, Consumer<Memory> fill) {
    if (bytes == 0) {
      return;
    }
    Memory m = HostStaging.of(bytes);
    fill.accept(m);
    bind();
    driver.check("cuMemcpyHtoD", driver.api().cuMemcpyHtoD_v2(dst, m, bytes));
  }

  private Memory copyOut(long src, long bytes) {
    Memory m = HostStaging.of(Math.max(1, bytes));
    if (bytes > 0) {
      bind();
      driver.check("cuMemcpyDtoH", driver.api().cuMemcpyDtoH_v2(m, src, bytes));
    }
    return m;
  }

  @Override
  public void copy(long dst, long src, long bytes) {
    if (bytes > 0) {
      bind();
      driver.check("cuMemcpyDtoD", driver.api().cuMemcpyDtoD_v2(dst, src, bytes));
    }
  }

  /** Sets {@code bytes} bytes at {@code dst} to zero. */
  @Override
  public void zero(long dst, long bytes) {
    bind();
    driver.check("cuMemsetD8", driver.api().cuMemsetD8_v2(dst, (byte) 0, bytes));
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    bind();
    if (cublas != null) {
      cublas.close();
    }
    for (Pointer m : modules) {
      if (m != null) {
        driver.api().cuModuleUnload(m);
      }
    }
    driver.api().cuCtxSetCurrent(Pointer.NULL);
    BOUND.remove();
    driver.api().cuDevicePrimaryCtxRelease_v2(device);
  }
}
