package ai.cory.common.model;

/**
 * A device the engine's layers can run on (a GPU): raw device memory, kernel launches by entry
 * point name, row-major float32-accumulating GEMMs and copies. The engine defines what it needs
 * and a backend package implements it ({@code common.cuda.CudaAccelerator}), so the model
 * package depends on no driver. Device memory comes from one arena (no allocator calls after
 * start-up); addresses are plain {@code long}s, 0 standing for a null pointer.
 */
public interface Accelerator {
  /** {@code bytes} of device memory from this accelerator's arena (256-byte aligned). */
  long alloc(long bytes);

  /** Gives back memory {@link #alloc} handed out, for later allocations. */
  void free(long address);

  /** Bytes of this accelerator's memory in use. */
  long usedBytes();

  /**
   * Launches kernel {@code name} on the accelerator's stream. Arguments in the kernel's
   * declared order: {@code Long} (device pointers, 0 for null, and 64-bit integers),
   * {@code Integer}, {@code Float}, {@code Double}.
   */
  void launch(String name, int[] grid, int block, int sharedBytes, Object... args);

  /**
   * Row-major {@code C (m, n) = alpha op(A) op(B) + beta C} on float32 matrices at device
   * addresses, in the precision the accelerator was configured with (float32, TF32 or bf16
   * inputs, always float32 accumulation).
   */
  void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, long a, int lda,
      long b, int ldb, float beta, long c, int ldc);

  /** {@code n} floats of {@code src} from {@code off} to device address {@code dst}. */
  void upload(long dst, float[] src, int off, int n);

  /** Host ints to device address {@code dst}. */
  void upload(long dst, int[] src, int off, int n);

  /** {@code n} bytes of {@code src} from {@code off} to device address {@code dst}. */
  void upload(long dst, byte[] src, int off, int n);

  /** {@code n} doubles of {@code src} from {@code off} to device address {@code dst}. */
  void upload(long dst, double[] src, int off, int n);

  /** {@code n} ints from device address {@code src} into {@code dst[off..]}. */
  void download(long src, int[] dst, int off, int n);

  /** {@code n} floats from device address {@code src} into {@code dst[off..]}. */
  void download(long src, float[] dst, int off, int n);

  /** Device-to-device copy of {@code bytes}. */
  void copy(long dst, long src, long bytes);

  /** Sets {@code bytes} bytes at {@code dst} to zero. */
  void zero(long dst, long bytes);

  /** Waits for all work so far; surfaces a kernel's fault. */
  void synchronize();
}
