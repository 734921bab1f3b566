package ai.cory.common.cuda;

import ai.cory.common.config.Compute;

/**
 * What the GPU comparisons ask of a device: launches, copies and GEMMs. {@link CudaContext} is
 * the device; the tests also run every comparison through a validating stand-in (no GPU), which
 * checks each launch against its kernel's declared signature and launch limits, so only the
 * arithmetic is left for a GPU machine.
 */
interface DeviceOps {
  /** A device arena of {@code bytes}. */
  DeviceArena arena(long bytes);

  void launch(String name, int[] grid, int block, int sharedBytes, Object... args);

  /** Row-major GEMM, as {@link Cublas#gemm}. */
  void gemm(Compute.GemmMath math, boolean transA, boolean transB, int m, int n, int k,
      float alpha, long a, int lda, long b, int ldb, float beta, long c, int ldc);

  /** Row-major GEMM on bf16-stored A and B, as {@link Cublas#gemmBf16}. */
  void gemmBf16(boolean transA, boolean transB, int m, int n, int k, float alpha, long a,
      int lda, long b, int ldb, float beta, long c, int ldc);

  void upload(long dst, float[] src);

  void upload(long dst, int[] src);

  void upload(long dst, double[] src);

  void upload(long dst, byte[] src);

  void zero(long dst, long bytes);

  /** Device-to-device copy of {@code bytes}. */
  void copy(long dst, long src, long bytes);

  void synchronize();

  float[] downloadFloats(long src, int n);

  int[] downloadInts(long src, int n);
}
