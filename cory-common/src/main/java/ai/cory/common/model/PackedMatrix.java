package ai.cory.common.model;

import ai.cory.common.io.HalfFloats;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * A frozen (out, in) matrix in a compressed {@link BaseDtype}, row-major, off-heap: the storage
 * of a quantised base's projection. Rows are written once while the model streams in
 * ({@link #packRow}) and dequantised into float rows on every use ({@link #unpackRow}). Codes
 * and scales live in one off-heap ND4J allocation, so a 7B base does not load the JVM heap.
 *
 * <p>Formats, per row of {@code in} weights:
 * <ul>
 *   <li>BF16 / FP16: 2 bytes each, round to nearest even;
 *   <li>INT8: 1 byte each, {@code q = rint(127 w / absmax)}, plus the row's float scale
 *       {@code absmax / 127};
 *   <li>NF4: 4 bits each, two per byte (the even element in the high nibble, as bitsandbytes),
 *       in blocks of {@value #NF4_BLOCK} along the row (the last block of a row may be shorter),
 *       each block's absmax as a float; a weight is {@code NF4[code] * absmax};
 *   <li>NF4_DQ: NF4 with QLoRA's double quantisation of the absmax constants: after the matrix
 *       is packed ({@link #finish}) each absmax becomes one byte, {@code rint(127 (c - mean) / a)}
 *       with the mean of all the matrix's constants and one float {@code a} per block of
 *       {@value #DQ_BLOCK} constants (linear int8 where bitsandbytes uses its dynamic 8-bit map):
 *       8.1 bits of scale per 64 weights instead of 32.
 * </ul>
 * Not thread-safe for writes; concurrent {@link #unpackRow} calls are safe.
 */
final class PackedMatrix {
  /** NF4 block size (QLoRA). */
  static final int NF4_BLOCK = 64;
  /** Constants per second-level block of double quantisation (QLoRA). */
  static final int DQ_BLOCK = 256;
  /**
   * The NF4 code values of QLoRA (Dettmers et al. 2023, appendix E; bitsandbytes'
   * {@code nf4} table), index = 4-bit code.
   */
  static final float[] NF4 = {
      -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
      -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
      0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
      0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f};
  private static final float[] NF4_MIDPOINTS = new float[15];
  /** Both NF4 values of each byte: [2b] the high nibble's (even element), [2b + 1] the low's. */
  private static final float[] NF4_PAIRS = new float[512];

  static {
    for (int i = 0; i < 15; i++) {
      NF4_MIDPOINTS[i] = (NF4[i] + NF4[i + 1]) / 2;
    }
    for (int b = 0; b < 256; b++) {
      NF4_PAIRS[2 * b] = NF4[b >>> 4];
      NF4_PAIRS[2 * b + 1] = NF4[b & 0x0F];
    }
  }

  private final BaseDtype dtype;
  private final int rows;
  private final int cols;
  private final int rowBytes;     // code bytes of one row
  private final int blocksPerRow; // scales per row (INT8: 1, NF4: ceil(cols / 64))
  private final long scaleStart;  // byte offset of the scales (after every row's codes)
  private final Object owner;     // keeps the allocation alive
  private final ByteBuffer bytes; // little-endian view of the whole allocation
  private final boolean doubleQuant;
  private float[] pending;        // NF4_DQ while packing: the float constants, until finish()
  private float[] second;         // NF4_DQ: one scale per DQ_BLOCK constants
  private float mean;             // NF4_DQ: the mean of the constants

  PackedMatrix(BaseDtype dtype, int rows, int cols) {
    if (dtype == BaseDtype.FLOAT32) {
      throw new IllegalArgumentException("float32 matrices are dense spans, not packed");
    }
    this.dtype = dtype;
    this.rows = rows;
    this.cols = cols;
    this.rowBytes = switch (dtype) {
      case BF16, FP16 -> 2 * cols;
      case INT8 -> cols;
      case NF4, NF4_DQ -> (cols + 1) / 2;
      default -> throw new IllegalStateException(dtype.toString());
    };
    this.blocksPerRow = switch (dtype) {
      case INT8 -> 1;
      case NF4, NF4_DQ -> (cols + NF4_BLOCK - 1) / NF4_BLOCK;
      default -> 0;
    };
    this.doubleQuant = dtype == BaseDtype.NF4_DQ;
    this.scaleStart = (long) rows * rowBytes;
    if (doubleQuant) {
      pending = new float[Math.toIntExact((long) rows * blocksPerRow)];
    }
    long total = scaleStart + (doubleQuant ? 1L : 4L) * rows * blocksPerRow;
    if (total > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("a packed " + rows + " x " + cols + " " + dtype
          + " matrix needs " + total + " bytes, more than one buffer of 2^31-1 bytes");
    }
    HostMemory.Bytes b = HostMemory.bytes(Math.max(1, total));
    this.owner = b.owner();
    this.bytes = b.buffer();
  }

  /** Bytes a packed (rows, cols) matrix holds, codes and scales. */
  static long plannedBytes(BaseDtype dtype, int rows, int cols) {
    long r = rows;
    return switch (dtype) {
      case BF16, FP16 -> 2 * r * cols;
      case INT8 -> r * cols + 4 * r;
      case NF4 -> r * ((cols + 1) / 2) + 4 * r * ((cols + NF4_BLOCK - 1) / NF4_BLOCK);
      case NF4_DQ -> {
        long constants = r * ((cols + NF4_BLOCK - 1) / NF4_BLOCK);
        yield r * ((cols + 1) / 2) + constants + 4 * ((constants + DQ_BLOCK - 1) / DQ_BLOCK);
      }
      default -> 4 * r * cols;
    };
  }

  BaseDtype dtype() {
    return dtype;
  }

  int rows() {
    return rows;
  }

  int cols() {
    return cols;
  }

  /** Length of the stored buffer: codes, then scales (NF4_DQ's second-level scales apart). */
  long storedBytes() {
    return scaleStart + (doubleQuant ? 1L : 4L) * rows * blocksPerRow;
  }

  /** Copies {@code n} stored bytes from byte {@code from} into {@code dst[0..n)}. */
  void readStored(long from, byte[] dst, int n) {
    bytes.get(Math.toIntExact(from), dst, 0, n);
  }

  /** Byte offset of the scales in the stored buffer. */
  long scaleStart() {
    return scaleStart;
  }

  /** NF4_DQ: one float scale per {@value #DQ_BLOCK} int8 constants; null otherwise. */
  float[] secondScales() {
    return second;
  }

  /** NF4_DQ: the constants' mean; 0 otherwise. */
  float constantsMean() {
    return mean;
  }

  /** Bytes held (codes and scales). */
  long bytes() {
    long constants = (long) rows * blocksPerRow;
    return doubleQuant ? scaleStart + constants + 4L * second.length : scaleStart + 4L * constants;
  }

  /**
   * Ends packing: with double quantisation, quantises the float constants to one byte each
   * (nothing to do for the other formats). Call once, after every row was packed.
   */
  void finish() {
    if (!doubleQuant || pending == null) {
      return;
    }
    double sum = 0;
    for (float c : pending) {
      sum += c;
    }
    mean = pending.length == 0 ? 0 : (float) (sum / pending.length);
    second = new float[(pending.length + DQ_BLOCK - 1) / DQ_BLOCK];
    for (int blk = 0; blk < second.length; blk++) {
      int from = blk * DQ_BLOCK;
      int to = Math.min(pending.length, from + DQ_BLOCK);
      float a = 0;
      for (int i = from; i < to; i++) {
        a = Math.max(a, Math.abs(pending[i] - mean));
      }
      second[blk] = a / 127f;
      float inv = a == 0 ? 0 : 127f / a;
      for (int i = from; i < to; i++) {
        int code = Math.max(-127, Math.min(127, Math.round((pending[i] - mean) * inv)));
        bytes.put(Math.toIntExact(scaleStart + i), (byte) code);
      }
    }
    pending = null;
  }

  /** Quantises row {@code r} from {@code src[off .. off + cols)}. */
  void packRow(int r, float[] src, int off) {
    int at = Math.toIntExact((long) r * rowBytes);
    switch (dtype) {
      case BF16 -> {
        for (int k = 0; k < cols; k++) {
          bytes.putShort(at + 2 * k, HalfFloats.floatToBf16(src[off + k]));
        }
      }
      case FP16 -> {
        for (int k = 0; k < cols; k++) {
          bytes.putShort(at + 2 * k, HalfFloats.floatToF16(src[off + k]));
        }
      }
      case INT8 -> {
        float absmax = absmax(src, off, cols);
        float inv = absmax == 0 ? 0 : 127f / absmax;
        for (int k = 0; k < cols; k++) {
          bytes.put(at + k, (byte) Math.max(-127, Math.min(127, Math.round(src[off + k] * inv))));
        }
        putScale(r, 0, absmax / 127f);
      }
      case NF4, NF4_DQ -> packNf4(r, at, src, off);
      default -> throw new IllegalStateException(dtype.toString());
    }
  }

  private void packNf4(int r, int at, float[] src, int off) {
    for (int b = 0; b < blocksPerRow; b++) {
      int from = b * NF4_BLOCK;
      int n = Math.min(NF4_BLOCK, cols - from);
      float absmax = absmax(src, off + from, n);
      putScale(r, b, absmax);
      float inv = absmax == 0 ? 0 : 1f / absmax;
      for (int k = from; k < from + n; k++) {
        int code = nf4Code(src[off + k] * inv);
        int byteAt = at + k / 2;
        int old = bytes.get(byteAt) & 0xFF;
        bytes.put(byteAt, (byte) ((k & 1) == 0 ? (old & 0x0F) | (code << 4) : (old & 0xF0) | code));
      }
    }
  }

  /** The index of the NF4 value nearest to {@code x} (in [-1, 1]). */
  static int nf4Code(float x) {
    int code = 0;
    while (code < 15 && x > NF4_MIDPOINTS[code]) {
      code++;
    }
    return code;
  }

  /** Dequantises row {@code r} into {@code dst[off .. off + cols)}. */
  void unpackRow(int r, float[] dst, int off) {
    int at = Math.toIntExact((long) r * rowBytes);
    switch (dtype) {
      case BF16 -> {
        for (int k = 0; k < cols; k++) {
          dst[off + k] = Float.intBitsToFloat((bytes.getShort(at + 2 * k) & 0xFFFF) << 16);
        }
      }
      case FP16 -> {
        for (int k = 0; k < cols; k++) {
          dst[off + k] = HalfFloats.f16ToFloat(bytes.getShort(at + 2 * k));
        }
      }
      case INT8 -> {
        float scale = scale(r, 0);
        for (int k = 0; k < cols; k++) {
          dst[off + k] = bytes.get(at + k) * scale;
        }
      }
      case NF4, NF4_DQ -> {
        for (int b = 0; b < blocksPerRow; b++) {
          float absmax = scale(r, b);
          int from = b * NF4_BLOCK; // even: a block starts on a byte
          int to = Math.min(cols, from + NF4_BLOCK);
          int k = from;
          for (; k + 1 < to; k += 2) { // two weights per byte through the pair table
            int pair = (bytes.get(at + k / 2) & 0xFF) << 1;
            dst[off + k] = NF4_PAIRS[pair] * absmax;
            dst[off + k + 1] = NF4_PAIRS[pair + 1] * absmax;
          }
          if (k < to) { // an odd row length: the last weight is a high nibble alone
            dst[off + k] = NF4_PAIRS[(bytes.get(at + k / 2) & 0xFF) << 1] * absmax;
          }
        }
      }
      default -> throw new IllegalStateException(dtype.toString());
    }
  }

  /** Adds every stored byte to {@code crc} (the base's fingerprint). */
  void update(CRC32C crc) {
    ByteBuffer view = bytes.duplicate();
    view.position(0).limit(Math.toIntExact(bytes()));
    crc.update(view);
  }

  private float scale(int r, int block) {
    int i = Math.toIntExact((long) r * blocksPerRow + block);
    if (doubleQuant) {
      if (pending != null) {
        throw new IllegalStateException("a double-quantised matrix is read before finish()");
      }
      return bytes.get(Math.toIntExact(scaleStart + i)) * second[i / DQ_BLOCK] + mean;
    }
    return bytes.getFloat(Math.toIntExact(scaleStart + 4L * i));
  }

  private void putScale(int r, int block, float v) {
    int i = Math.toIntExact((long) r * blocksPerRow + block);
    if (doubleQuant) {
      pending[i] = v;
    } else {
      bytes.putFloat(Math.toIntExact(scaleStart + 4L * i), v);
    }
  }

  private static float absmax(float[] src, int off, int n) {
    float m = 0;
    for (int k = 0; k < n; k++) {
      m = Math.max(m, Math.abs(src[off + k]));
    }
    return m;
  }
}
