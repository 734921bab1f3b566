package ai.cory.common.cuda;

import ai.cory.common.config.Compute;
import ai.cory.common.model.Accelerator;
import java.util.Arrays;
import java.util.Objects;

/**
 * The engine's {@link Accelerator} on a CUDA device: launches, cuBLAS GEMMs in the configured
 * math and copies through a {@link DeviceOps} ({@link CudaContext} on a GPU), memory from one
 * replica arena. The engine's operands are float32 in every math: TF32 and bf16 round them on
 * the tensor cores inside cuBLAS.
 */
final class CudaAccelerator implements Accelerator {
  private final DeviceOps ops;
  private final DeviceArena arena;
  private final Compute.GemmMath math;

  CudaAccelerator(DeviceOps ops, DeviceArena arena, Compute.GemmMath math) {
    this.ops = Objects.requireNonNull(ops, "ops");
    this.arena = Objects.requireNonNull(arena, "arena");
    this.math = Objects.requireNonNull(math, "math");
  }

  @Override
  public long alloc(long bytes) {
    return arena.alloc(bytes);
  }

  @Override
  public void free(long address) {
    arena.free(address);
  }

  @Override
  public long usedBytes() {
    return arena.used();
  }

  @Override
  public void launch(String name, int[] grid, int block, int sharedBytes, Object... args) {
    ops.launch(name, grid, block, sharedBytes, args);
  }

  @Override
  public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, long a,
      int lda, long b, int ldb, float beta, long c, int ldc) {
    ops.gemm(math, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  }

  @Override
  public void upload(long dst, float[] src, int off, int n) {
    ops.upload(dst, off == 0 && n == src.length ? src : Arrays.copyOfRange(src, off, off + n));
  }

  @Override
  public void upload(long dst, int[] src, int off, int n) {
    ops.upload(dst, off == 0 && n == src.length ? src : Arrays.copyOfRange(src, off, off + n));
  }

  @Override
  public void upload(long dst, byte[] src, int off, int n) {
    ops.upload(dst, off == 0 && n == src.length ? src : Arrays.copyOfRange(src, off, off + n));
  }

  @Override
  public void upload(long dst, double[] src, int off, int n) {
    ops.upload(dst, off == 0 && n == src.length ? src : Arrays.copyOfRange(src, off, off + n));
  }

  @Override
  public void download(long src, int[] dst, int off, int n) {
    System.arraycopy(ops.downloadInts(src, n), 0, dst, off, n);
  }

  @Override
  public void download(long src, float[] dst, int off, int n) {
    System.arraycopy(ops.downloadFloats(src, n), 0, dst, off, n);
  }

  @Override
  public void copy(long dst, long src, long bytes) {
    ops.copy(dst, src, bytes);
  }

  @Override
  public void zero(long dst, long bytes) {
    ops.zero(dst, bytes);
  }

  @Override
  public void synchronize() {
    ops.synchronize();
  }
}
