package ai.cory.common.model;

import static org.bytedeco.openblas.global.openblas.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas.CblasTrans;

import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Row-major BLAS on {@link Span}s through OpenBLAS's CBLAS interface directly (the library ND4J
 * itself links). Called on raw pointers with explicit leading dimensions this reaches ~150
 * GFLOP/s on two cores where {@code Nd4j.gemm} gets ~120 and batched {@code Nd4j.matmul} 10-27
 * (STACK.md), and it multiplies strided sub-matrices (one head of a fused q|k|v buffer) in place.
 * Offsets are in elements from the start of each span.
 */
final class Blas {
  private Blas() {}

  /**
   * {@code C = alpha * op(A) @ op(B) + beta * C} with {@code op(A)} (m, k), {@code op(B)} (k, n),
   * {@code C} (m, n); {@code transA} means A is stored (k, m).
   */
  static void gemm(boolean transA, boolean transB, int m, int n, int k,
      double alpha, Span a, long aOff, int lda, Span b, long bOff, int ldb,
      double beta, Span c, long cOff, int ldc) {
    if (m == 0 || n == 0) {
      return;
    }
    checkMatrix("A", a, aOff, transA ? k : m, transA ? m : k, lda);
    checkMatrix("B", b, bOff, transB ? n : k, transB ? k : n, ldb);
    checkMatrix("C", c, cOff, m, n, ldc);
    sameType(a, b, c);
    int ta = transA ? CblasTrans : CblasNoTrans;
    int tb = transB ? CblasTrans : CblasNoTrans;
    if (c.dataType() == DataType.FLOAT) {
      openblas.cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, (float) alpha,
          (FloatPointer) a.pointer(aOff), lda, (FloatPointer) b.pointer(bOff), ldb,
          (float) beta, (FloatPointer) c.pointer(cOff), ldc);
    } else {
      openblas.cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, alpha,
          (DoublePointer) a.pointer(aOff), lda, (DoublePointer) b.pointer(bOff), ldb,
          beta, (DoublePointer) c.pointer(cOff), ldc);
    }
  }

  /** {@code y = alpha * op(A) @ x + beta * y}; A stored (m, n) row-major, x and y contiguous. */
  static void gemv(boolean transA, int m, int n, double alpha, Span a, long aOff, int lda,
      Span x, long xOff, double beta, Span y, long yOff) {
    if (m == 0 || n == 0) {
      return;
    }
    checkMatrix("A", a, aOff, m, n, lda);
    x.check(xOff, transA ? m : n);
    y.check(yOff, transA ? n : m);
    sameType(a, x, y);
    int t = transA ? CblasTrans : CblasNoTrans;
    if (y.dataType() == DataType.FLOAT) {
      openblas.cblas_sgemv(CblasRowMajor, t, m, n, (float) alpha, (FloatPointer) a.pointer(aOff),
          lda, (FloatPointer) x.pointer(xOff), 1, (float) beta, (FloatPointer) y.pointer(yOff), 1);
    } else {
      openblas.cblas_dgemv(CblasRowMajor, t, m, n, alpha, (DoublePointer) a.pointer(aOff),
          lda, (DoublePointer) x.pointer(xOff), 1, beta, (DoublePointer) y.pointer(yOff), 1);
    }
  }

  /**
   * Largest {@code m * n * k} that OpenBLAS runs on the calling thread alone: its
   * {@code interface/gemm.c} uses one thread when {@code M*N*K <= SMP_THRESHOLD_MIN (65536) *
   * GEMM_MULTITHREAD_THRESHOLD} (4 in this build).
   */
  static final long SINGLE_THREAD_MNK = 65536L * openblas.OPENBLAS_GEMM_MULTITHREAD_THRESHOLD;

  /**
   * {@link #gemm} split along the rows of C (and its columns if one row is still too large) into
   * products small enough for OpenBLAS to run each on the calling thread. Several
   * {@link Parallel} parts can then run many small products (attention heads) concurrently,
   * without a two-thread synchronisation per 2-MFLOP product and without changing OpenBLAS's
   * global thread count (re-sizing its thread buffers costs milliseconds per change).
   */
  static void gemmOnThisThread(boolean transA, boolean transB, int m, int n, int k,
      double alpha, Span a, long aOff, int lda, Span b, long bOff, int ldb,
      double beta, Span c, long cOff, int ldc) {
    long perRow = (long) n * Math.max(1, k);
    int cols = perRow <= SINGLE_THREAD_MNK ? n
        : (int) Math.max(1, SINGLE_THREAD_MNK / Math.max(1, k));
    int rows = (int) Math.max(1, Math.min(m, SINGLE_THREAD_MNK / ((long) cols * Math.max(1, k))));
    for (int r0 = 0; r0 < m; r0 += rows) {
      int mr = Math.min(rows, m - r0);
      long aRow = transA ? aOff + r0 : aOff + (long) r0 * lda;
      for (int c0 = 0; c0 < n; c0 += cols) {
        int nc = Math.min(cols, n - c0);
        long bCol = transB ? bOff + (long) c0 * ldb : bOff + c0;
        gemm(transA, transB, mr, nc, k, alpha, a, aRow, lda, b, bCol, ldb, beta, c,
            cOff + (long) r0 * ldc + c0, ldc);
      }
    }
  }

  /** Rank-one update {@code A += alpha * x y^T}; A (m, n) row-major, x (m), y (n) contiguous. */
  static void ger(int m, int n, double alpha, Span x, long xOff, Span y, long yOff,
      Span a, long aOff, int lda) {
    if (m == 0 || n == 0) {
      return;
    }
    checkMatrix("A", a, aOff, m, n, lda);
    x.check(xOff, m);
    y.check(yOff, n);
    sameType(x, y, a);
    if (a.dataType() == DataType.FLOAT) {
      openblas.cblas_sger(CblasRowMajor, m, n, (float) alpha, (FloatPointer) x.pointer(xOff), 1,
          (FloatPointer) y.pointer(yOff), 1, (FloatPointer) a.pointer(aOff), lda);
    } else {
      openblas.cblas_dger(CblasRowMajor, m, n, alpha, (DoublePointer) x.pointer(xOff), 1,
          (DoublePointer) y.pointer(yOff), 1, (DoublePointer) a.pointer(aOff), lda);
    }
  }

  private static void sameType(Span a, Span b, Span c) {
    if (a.dataType() != c.dataType() || b.dataType() != c.dataType()) {
      throw new IllegalArgumentException("mixed dtypes in one product: " + a.dataType() + ", "
          + b.dataType() + ", " + c.dataType());
    }
  }

  /** Bounds of a row-major (rows, cols) matrix with leading dimension ld inside a span. */
  private static void checkMatrix(String what, Span s, long off, int rows, int cols, int ld) {
    if (s.dataType() != DataType.FLOAT && s.dataType() != DataType.DOUBLE) {
      throw new IllegalArgumentException(what + " has unsupported dtype " + s.dataType());
    }
    if (ld < cols) {
      throw new IllegalArgumentException(
          "leading dimension of " + what + " is " + ld + " < its " + cols + " columns");
    }
    if (rows > 0 && cols > 0) {
      s.check(off, (long) (rows - 1) * ld + cols);
    }
  }
}
