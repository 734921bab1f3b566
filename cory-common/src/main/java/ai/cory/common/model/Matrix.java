package ai.cory.common.model;

import java.util.Objects;

/**
 * A projection's weight matrix as the kernels see it: either a dense span in Hugging Face storage
 * layout ((in, out) for GPT-2's Conv1D, (out, in) for Llama's nn.Linear; trainable and gradient
 * matrices are always dense), or a frozen {@link PackedMatrix} (always (out, in)) that is
 * dequantised a tile of rows at a time into float scratch, each tile then multiplied by the same
 * BLAS GEMM as a dense matrix. A tile holds about {@value #TILE_ELEMENTS} weights, so the scratch
 * stays cache-friendly and small whatever the model's size.
 */
final class Matrix {
  static final int TILE_ELEMENTS = 1 << 20;
  private static final ThreadLocal<float[]> ROW = ThreadLocal.withInitial(() -> new float[0]);

  final Span dense;          // null when packed
  final boolean outIn;       // dense storage order; packed is always (out, in)
  final PackedMatrix packed; // null when dense
  final Resident resident;   // a packed matrix's bytes in device memory, else null

  /**
   * A packed matrix uploaded as is (codes then scales, {@link PackedMatrix}'s layout) for the
   * device backend, which dequantises tiles of rows right before each GEMM: device addresses of
   * the bytes and, for NF4_DQ, of the second-level scales, with the constants' mean.
   */
  record Resident(BaseDtype dtype, int rows, int cols, long bytes, long scaleStart, long second,
      float mean) {}

  private Matrix(Span dense, boolean outIn, PackedMatrix packed) {
    this(dense, outIn, packed, null);
  }

  private Matrix(Span dense, boolean outIn, PackedMatrix packed, Resident resident) {
    this.dense = dense;
    this.outIn = outIn;
    this.packed = packed;
    this.resident = resident;
  }

  /** A packed matrix resident on a device (always (out, in)). */
  static Matrix resident(Resident resident) {
    return new Matrix(null, true, null, Objects.requireNonNull(resident, "resident"));
  }

  static Matrix dense(Span span, boolean outIn) {
    return new Matrix(Objects.requireNonNull(span, "span"), outIn, null);
  }

  static Matrix packed(PackedMatrix packed) {
    return new Matrix(null, true, Objects.requireNonNull(packed, "packed"));
  }

  boolean isPacked() {
    return packed != null;
  }

  /** {@code y (n, out) = x (n, in) @ W}, or {@code y +=} that when {@code accumulate}. */
  void multiply(Span y, Span x, int n, int in, int out, boolean accumulate) {
    if (packed == null) {
      Blas.gemm(false, outIn, n, out, in, 1.0, x, 0, in, dense, 0, outIn ? in : out,
          accumulate ? 1.0 : 0.0, y, 0, out);
      return;
    }
    int tileRows = tileRows(in, out);
    Span tile = ThreadSpans.get(ThreadSpans.TILE, x.dataType(), (long) tileRows * in);
    for (int r0 = 0; r0 < out; r0 += tileRows) {
      int m = Math.min(tileRows, out - r0);
      unpack(tile, r0, m, in);
      Blas.gemm(false, true, n, m, in, 1.0, x, 0, in, tile, 0, in, accumulate ? 1.0 : 0.0, y, r0,
          out);
    }
  }

  /** {@code dx (n, in) = dy (n, out) @ W^T}, or {@code dx +=} that when {@code accumulate}. */
  void multiplyTransposed(Span dx, Span dy, int n, int in, int out, boolean accumulate) {
    if (packed == null) {
      Blas.gemm(false, !outIn, n, in, out, 1.0, dy, 0, out, dense, 0, outIn ? in : out,
          accumulate ? 1.0 : 0.0, dx, 0, in);
      return;
    }
    int tileRows = tileRows(in, out);
    Span tile = ThreadSpans.get(ThreadSpans.TILE, dy.dataType(), (long) tileRows * in);
    for (int r0 = 0; r0 < out; r0 += tileRows) {
      int m = Math.min(tileRows, out - r0);
      unpack(tile, r0, m, in);
      Blas.gemm(false, false, n, in, m, 1.0, dy, r0, out, tile, 0, in,
          accumulate || r0 > 0 ? 1.0 : 0.0, dx, 0, in);
    }
  }

  /**
   * Row {@code r} of the (out, in) matrix as floats, whatever the storage (merging adapters,
   * exports, tests).
   */
  void readRow(int r, int in, int out, float[] dst) {
    if (packed != null) {
      packed.unpackRow(r, dst, 0);
    } else if (outIn) {
      dense.readFloats((long) r * in, dst, 0, in);
    } else {
      for (int k = 0; k < in; k++) {
        dst[k] = (float) dense.get((long) k * out + r);
      }
    }
  }

  private static int tileRows(int in, int out) {
    return Math.max(1, Math.min(out, TILE_ELEMENTS / Math.max(1, in)));
  }

  /** Dequantises rows {@code [r0, r0 + m)} into {@code tile}, the rows split over the kernel threads. */
  private void unpack(Span tile, int r0, int m, int in) {
    Parallel.forRange(m, 8, (part, from, to) -> {
      float[] row = ROW.get();
      if (row.length < in) {
        row = new float[in];
        ROW.set(row);
      }
      for (int r = from; r < to; r++) {
        packed.unpackRow(r0 + r, row, 0);
        tile.writeFloats((long) r * in, row, 0, in);
      }
    });
  }
}
