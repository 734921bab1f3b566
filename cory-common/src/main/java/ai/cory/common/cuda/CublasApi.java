package ai.cory.common.cuda;

import com.sun.jna.Library;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.PointerByReference;

/**
 * The cuBLAS calls the backend uses ({@code cublas_api.h}, CUDA 12/13). Matrices are
 * column-major as cuBLAS sees them; the backend runs the row-major product
 * {@code C = A B} as the column-major {@code C^T = B^T A^T}.
 */
public interface CublasApi extends Library {
  int OP_N = 0;
  int OP_T = 1;
  /** {@code CUDA_R_32F}. */
  int R_32F = 0;
  /** {@code CUDA_R_16F}. */
  int R_16F = 2;
  /** {@code CUDA_R_16BF}. */
  int R_16BF = 14;
  /** {@code CUBLAS_COMPUTE_32F}: float32 math. */
  int COMPUTE_32F = 68;
  /** {@code CUBLAS_COMPUTE_32F_FAST_TF32}: TF32 tensor cores, float32 accumulation. */
  int COMPUTE_32F_FAST_TF32 = 77;
  /**
   * {@code CUBLAS_COMPUTE_32F_FAST_16BF}: float32 operands rounded to bf16 on tensor cores,
   * float32 accumulation.
   */
  int COMPUTE_32F_FAST_16BF = 75;
  /** {@code CUBLAS_GEMM_DEFAULT}. */
  int GEMM_DEFAULT = -1;

  int cublasCreate_v2(PointerByReference handle);

  int cublasDestroy_v2(Pointer handle);

  int cublasGetVersion_v2(Pointer handle, IntByReference version);

  int cublasGemmEx(Pointer handle, int transa, int transb, int m, int n, int k, Pointer alpha,
      long a, int aType, int lda, long b, int bType, int ldb, Pointer beta, long c, int cType,
      int ldc, int computeType, int algo);

  int cublasGemmStridedBatchedEx(Pointer handle, int transa, int transb, int m, int n, int k,
      Pointer alpha, long a, int aType, int lda, long strideA, long b, int bType, int ldb,
      long strideB, Pointer beta, long c, int cType, int ldc, long strideC, int batchCount,
      int computeType, int algo);
}
