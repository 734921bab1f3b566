package ai.cory.common.cuda;

import ai.cory.common.config.Compute;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.PointerByReference;

/**
 * cuBLAS on the current context, row-major like the CPU engine's {@code Blas}: the row-major
 * product {@code C = op(A) op(B)} runs as the column-major {@code C^T = op(B)^T op(A)^T}, so no
 * matrix is ever transposed in memory. Math per {@link Compute.GemmMath} on float32 operands:
 * float32, or tensor cores with the operands rounded to TF32 or to bf16 inside cuBLAS
 * ({@code CUBLAS_COMPUTE_32F_FAST_TF32} / {@code _FAST_16BF}); {@link #gemmBf16} takes operands
 * stored as bf16. Accumulation and C are float32 in every case.
 */
public final class Cublas implements AutoCloseable {
  private final CublasApi api;
  private final Pointer handle;
  private final String from;
  private final Memory alpha = new Memory(4);
  private final Memory beta = new Memory(4);

  private Cublas(CublasApi api, Pointer handle, String from) {
    this.api = api;
    this.handle = handle;
    this.from = from;
  }

  static Cublas create() {
    CudaLibraries.Loaded<CublasApi> lib = CudaLibraries.cublas();
    PointerByReference h = new PointerByReference();
    check("cublasCreate", lib.api().cublasCreate_v2(h));
    return new Cublas(lib.api(), h.getValue(), lib.from());
  }

  /** The library file loaded. */
  public String from() {
    return from;
  }

  /** cuBLAS's version number (e.g. 130100). */
  public int version() {
    IntByReference v = new IntByReference();
    check("cublasGetVersion", api.cublasGetVersion_v2(handle, v));
    return v.getValue();
  }

  /**
   * Row-major {@code C (m, n) = alpha op(A) op(B) + beta C}, {@code op(A)} (m, k), {@code op(B)}
   * (k, n); {@code transA} means A is stored (k, m). A, B and C are float32; {@code math} says
   * what the tensor cores round the operands to. Leading dimensions are row strides in elements.
   */
  public void gemm(Compute.GemmMath math, boolean transA, boolean transB, int m, int n, int k,
      float a, long aPtr, int lda, long bPtr, int ldb, float b, long cPtr, int ldc) {
    call(math.name(), CublasApi.R_32F, computeType(math), transA, transB, m, n, k, a, aPtr, lda,
        bPtr, ldb, b, cPtr, ldc);
  }

  /** {@link #gemm} with A and B stored as bf16 (C float32, float32 accumulation). */
  public void gemmBf16(boolean transA, boolean transB, int m, int n, int k, float a, long aPtr,
      int lda, long bPtr, int ldb, float b, long cPtr, int ldc) {
    call("bf16 operands", CublasApi.R_16BF, CublasApi.COMPUTE_32F, transA, transB, m, n, k, a,
        aPtr, lda, bPtr, ldb, b, cPtr, ldc);
  }

  /** cuBLAS's compute type for a math on float32 operands. */
  static int computeType(Compute.GemmMath math) {
    return switch (math) {
      case FP32 -> CublasApi.COMPUTE_32F;
      case TF32 -> CublasApi.COMPUTE_32F_FAST_TF32;
      case BF16 -> CublasApi.COMPUTE_32F_FAST_16BF;
    };
  }

  private void call(String what, int in, int compute, boolean transA, boolean transB, int m,
      int n, int k, float a, long aPtr, int lda, long bPtr, int ldb, float b, long cPtr, int ldc) {
    alpha.setFloat(0, a);
    beta.setFloat(0, b);
    check("cublasGemmEx(" + m + "x" + n + "x" + k + ", " + what + ")",
        api.cublasGemmEx(handle, transB ? CublasApi.OP_T : CublasApi.OP_N,
            transA ? CublasApi.OP_T : CublasApi.OP_N, n, m, k, alpha, bPtr, in, ldb, aPtr, in,
            lda, beta, cPtr, CublasApi.R_32F, ldc, compute, CublasApi.GEMM_DEFAULT));
  }

  private static void check(String call, int status) {
    if (status != 0) {
      throw new CudaException(call + ": cublasStatus_t " + status);
    }
  }

  @Override
  public void close() {
    api.cublasDestroy_v2(handle);
  }
}
