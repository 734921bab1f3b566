package ai.cory.common.model;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.Arrays;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * A contiguous run of {@code length} elements starting at element {@code offset} of one flat,
 * off-heap allocation (an ND4J array's, or a plain JavaCPP one where ND4J's native backend is
 * absent: {@link HostMemory}): the unit every kernel of this package reads and writes. Element-wise
 * kernels move whole rows between a span and heap {@code double[]} scratch (so each kernel is
 * written once and computes in double for both FLOAT and DOUBLE models); matrix products hand
 * {@link #pointer(long)} to BLAS with explicit leading dimensions, so strided sub-matrices (one
 * attention head of a fused q|k|v buffer) need no copies.
 *
 * <p>Three subclasses exist: FLOAT and DOUBLE host spans, and FLOAT spans of an
 * {@link Accelerator}'s device memory ({@link Dev}), which the device kernels address directly
 * and which support the element accessors through (slow) copies, for loading and tests. Spans
 * are cheap value-like handles; many may alias the same memory.
 */
abstract sealed class Span permits Span.F32, Span.F64, Span.Dev {
  /**
   * The owning flat allocation, which keeps the memory alive: an ND4J array, a JavaCPP pointer,
   * or null for device memory.
   */
  final Object base;
  /** Where the owner starts in its root allocation, in elements (an ND4J view's offset). */
  final long baseOffset;
  final long offset;
  final long length;
  /** The owner's address ({@code data().addressPointer()} for ND4J), fetched once (JNI). */
  final Pointer basePointer;

  private Span(Object base, long baseOffset, Pointer basePointer, long offset, long length) {
    this.base = base;
    this.baseOffset = baseOffset;
    this.basePointer = basePointer;
    this.offset = offset;
    this.length = length;
  }

  /**
   * A span over all of {@code arr}, which must be c-order contiguous (a fresh allocation or a
   * contiguous view of one) and FLOAT or DOUBLE. The span aliases the array's memory.
   */
  static Span of(INDArray arr) {
    if (arr.length() > 1 && (arr.ordering() != 'c' || arr.elementWiseStride() != 1)) {
      throw new IllegalArgumentException("expected a c-order contiguous array, got order "
          + arr.ordering() + " with element-wise stride " + arr.elementWiseStride()
          + " and shape " + Arrays.toString(arr.shape()) + "; pass arr.dup('c')");
    }
    long end = arr.offset() + arr.length();
    if (end > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("allocation of " + end
          + " elements exceeds the 2^31-1 elements one NIO buffer can index; split it");
    }
    // data().asNio*() and data().address() start at the root allocation (absolute indexing);
    // data().addressPointer() already includes data().offset() == arr.offset().
    return switch (arr.dataType()) {
      case FLOAT -> new F32(arr, arr.offset(), arr.data().addressPointer(),
          arr.data().asNioFloat(), arr.offset(), arr.length());
      case DOUBLE -> new F64(arr, arr.offset(), arr.data().addressPointer(),
          arr.data().asNioDouble(), arr.offset(), arr.length());
      default -> throw new IllegalArgumentException(
          "model buffers are FLOAT or DOUBLE, got " + arr.dataType());
    };
  }

  /**
   * A fresh zeroed FLOAT or DOUBLE allocation of {@code n} elements through JavaCPP alone, for
   * where ND4J's native backend is absent ({@link HostMemory}); freed when no span holds it.
   */
  static Span allocate(DataType type, long n) {
    long m = Math.max(1, n);
    if (m > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("allocation of " + m
          + " elements exceeds the 2^31-1 elements one NIO buffer can index; split it");
    }
    Span s = switch (type) {
      case FLOAT -> {
        FloatPointer p = new FloatPointer(m);
        yield new F32(p, 0, p, p.asBuffer(), 0, n);
      }
      case DOUBLE -> {
        DoublePointer p = new DoublePointer(m);
        yield new F64(p, 0, p, p.asBuffer(), 0, n);
      }
      default -> throw new IllegalArgumentException("model buffers are FLOAT or DOUBLE, got "
          + type);
    };
    Pointer.memset(new BytePointer(s.basePointer), 0, m * s.elementBytes());
    return s;
  }

  /** The span over the whole of this span's owning allocation (host spans). */
  Span whole() {
    if (base instanceof INDArray arr) {
      return of(arr);
    }
    return root();
  }

  /** The span over the whole of a JavaCPP-owned allocation. */
  Span root() {
    throw new UnsupportedOperationException(getClass().getSimpleName() + " has no root");
  }

  /** Elements of this span from the start of its owner ({@link #whole()}). */
  long offsetInOwner() {
    return offset - baseOffset;
  }

  /** A FLOAT span of {@code length} elements at device address {@code address} of {@code acc}. */
  static Span device(Accelerator acc, long address, long length) {
    return new Dev(acc, address, 0, length);
  }

  /** True if this span starts where {@code other} does (inference works in place). */
  boolean sameStart(Span other) {
    return other.base == base && other.offset == offset;
  }

  abstract DataType dataType();

  /** Bytes per element. */
  abstract int elementBytes();

  /** Elements {@code [from, from + n)} of this span as a span. */
  abstract Span slice(long from, long n);

  abstract double get(long i);

  abstract void set(long i, double v);

  /** {@code dst[dstOff + k] = this[i + k]} for k < n. */
  abstract void read(long i, double[] dst, int dstOff, int n);

  /** {@code this[i + k] = src[srcOff + k]} for k < n (rounded to this span's precision). */
  abstract void write(long i, double[] src, int srcOff, int n);

  /** {@code this[i + k] += src[srcOff + k]} for k < n. */
  abstract void accumulate(long i, double[] src, int srcOff, int n);

  /** {@code this[i + k] = src[srcOff + k]} for k < n, from floats (dequantised weights). */
  abstract void writeFloats(long i, float[] src, int srcOff, int n);

  /** {@code dst[dstOff + k] = (float) this[i + k]} for k < n. */
  abstract void readFloats(long i, float[] dst, int dstOff, int n);

  /** Native pointer to element {@code i} of this span, for BLAS. */
  abstract Pointer pointer(long i);

  /** Sets every element to zero. */
  void zero() {
    zero(0, length);
  }

  /** Sets elements {@code [from, from + n)} to zero. */
  void zero(long from, long n) {
    check(from, n);
    Pointer.memset(bytePointer(from), 0, n * elementBytes());
  }

  /** Copies {@code n} elements from {@code src[srcFrom..]} to {@code this[from..]} (same dtype). */
  void copyFrom(long from, Span src, long srcFrom, long n) {
    check(from, n);
    src.check(srcFrom, n);
    if (src.dataType() != dataType()) {
      throw new IllegalArgumentException("copy between " + src.dataType() + " and " + dataType());
    }
    if (src instanceof Dev) {
      copyThroughHost(from, src, srcFrom, n);
      return;
    }
    Pointer.memcpy(bytePointer(from), src.bytePointer(srcFrom), n * elementBytes());
  }

  /** Copies between host and device memory as floats, a bounded chunk at a time. */
  void copyThroughHost(long from, Span src, long srcFrom, long n) {
    float[] chunk = new float[(int) Math.min(n, Dev.CHUNK)];
    for (long done = 0; done < n; done += chunk.length) {
      int m = (int) Math.min(chunk.length, n - done);
      src.readFloats(srcFrom + done, chunk, 0, m);
      writeFloats(from + done, chunk, 0, m);
    }
  }

  /**
   * An ND4J view (row-major) over elements {@code [from, from + prod(shape))}; the span must
   * come from a rank-1 allocation (all spans of this package do).
   */
  INDArray view(long from, long... shape) {
    long n = 1;
    for (long s : shape) {
      n *= s;
    }
    check(from, n);
    if (!(base instanceof INDArray arr)) {
      throw new IllegalStateException("an ND4J view of a buffer allocated without ND4J (ND4J's "
          + "native backend is not on the class path)");
    }
    if (arr.rank() != 1) {
      throw new IllegalStateException("views need a rank-1 base, got rank " + arr.rank());
    }
    long at = offset - baseOffset + from;
    INDArray flatView = arr.get(NDArrayIndex.interval(at, at + n));
    return flatView.reshape('c', shape);
  }

  /**
   * Byte pointer to element {@code i}. JavaCPP adds a pointer's position scaled by the size of
   * its declared element type, so untyped functions ({@code memset}, {@code memcpy}) need a
   * byte-positioned pointer, typed BLAS calls a typed one ({@link #pointer}).
   */
  BytePointer bytePointer(long i) {
    return new BytePointer(basePointer).position(pointerOffset(i) * elementBytes());
  }

  /** Element offset of this span relative to {@link #basePointer}. */
  long pointerOffset(long i) {
    return offset - baseOffset + i;
  }

  void check(long from, long n) {
    if (from < 0 || n < 0 || from + n > length) {
      throw new IndexOutOfBoundsException(
          "elements [" + from + ", " + (from + n) + ") outside a span of " + length);
    }
  }

  /** FLOAT span. */
  static final class F32 extends Span {
    private final FloatBuffer buf;
    private final int start;

    F32(Object base, long baseOffset, Pointer basePointer, FloatBuffer buf, long offset,
        long length) {
      super(base, baseOffset, basePointer, offset, length);
      this.buf = buf;
      this.start = Math.toIntExact(offset);
    }

    @Override
    DataType dataType() {
      return DataType.FLOAT;
    }

    @Override
    int elementBytes() {
      return 4;
    }

    @Override
    Span slice(long from, long n) {
      check(from, n);
      return new F32(base, baseOffset, basePointer, buf, offset + from, n);
    }

    @Override
    double get(long i) {
      return buf.get(start + (int) i);
    }

    @Override
    void set(long i, double v) {
      buf.put(start + (int) i, (float) v);
    }

    @Override
    void read(long i, double[] dst, int dstOff, int n) {
      int p = start + (int) i;
      for (int k = 0; k < n; k++) {
        dst[dstOff + k] = buf.get(p + k);
      }
    }

    @Override
    void write(long i, double[] src, int srcOff, int n) {
      int p = start + (int) i;
      for (int k = 0; k < n; k++) {
        buf.put(p + k, (float) src[srcOff + k]);
      }
    }

    @Override
    void accumulate(long i, double[] src, int srcOff, int n) {
      int p = start + (int) i;
      for (int k = 0; k < n; k++) {
        buf.put(p + k, (float) (buf.get(p + k) + src[srcOff + k]));
      }
    }

    @Override
    void writeFloats(long i, float[] src, int srcOff, int n) {
      buf.put(start + (int) i, src, srcOff, n);
    }

    @Override
    void readFloats(long i, float[] dst, int dstOff, int n) {
      buf.get(start + (int) i, dst, dstOff, n);
    }

    @Override
    Pointer pointer(long i) {
      return new FloatPointer(basePointer).position(pointerOffset(i));
    }

    @Override
    Span root() {
      return new F32(base, 0, basePointer, buf, 0, buf.capacity());
    }
  }

  /** DOUBLE span. */
  static final class F64 extends Span {
    private final DoubleBuffer buf;
    private final int start;

    F64(Object base, long baseOffset, Pointer basePointer, DoubleBuffer buf, long offset,
        long length) {
      super(base, baseOffset, basePointer, offset, length);
      this.buf = buf;
      this.start = Math.toIntExact(offset);
    }

    @Override
    DataType dataType() {
      return DataType.DOUBLE;
    }

    @Override
    int elementBytes() {
      return 8;
    }

    @Override
    Span slice(long from, long n) {
      check(from, n);
      return new F64(base, baseOffset, basePointer, buf, offset + from, n);
    }

    @Override
    double get(long i) {
      return buf.get(start + (int) i);
    }

    @Override
    void set(long i, double v) {
      buf.put(start + (int) i, v);
    }

    @Override
    void read(long i, double[] dst, int dstOff, int n) {
      buf.get(start + (int) i, dst, dstOff, n);
    }

    @Override
    void write(long i, double[] src, int srcOff, int n) {
      buf.put(start + (int) i, src, srcOff, n);
    }

    @Override
    void accumulate(long i, double[] src, int srcOff, int n) {
      int p = start + (int) i;
      for (int k = 0; k < n; k++) {
        buf.put(p + k, buf.get(p + k) + src[srcOff + k]);
      }
    }

    @Override
    void writeFloats(long i, float[] src, int srcOff, int n) {
      int p = start + (int) i;
      for (int k = 0; k < n; k++) {
        buf.put(p + k, src[srcOff + k]);
      }
    }

    @Override
    void readFloats(long i, float[] dst, int dstOff, int n) {
      int p = start + (int) i;
      for (int k = 0; k < n; k++) {
        dst[dstOff + k] = (float) buf.get(p + k);
      }
    }

    @Override
    Pointer pointer(long i) {
      return new DoublePointer(basePointer).position(pointerOffset(i));
    }

    @Override
    Span root() {
      return new F64(base, 0, basePointer, buf, 0, buf.capacity());
    }
  }

  /**
   * FLOAT span of device memory: {@link #address} is what the device kernels take. Element
   * access copies through the host, so it serves loading, exports and tests, never a hot loop.
   */
  static final class Dev extends Span {
    static final int CHUNK = 1 << 20;

    final Accelerator acc;
    private final long start; // device address of element 0 of the allocation

    private Dev(Accelerator acc, long start, long offset, long length) {
      super(null, 0, null, offset, length);
      this.acc = acc;
      this.start = start;
    }

    /** Device address of element {@code i}. */
    long address(long i) {
      return start + 4 * (offset + i);
    }

    @Override
    boolean sameStart(Span other) {
      return other instanceof Dev d && d.address(0) == address(0);
    }

    @Override
    DataType dataType() {
      return DataType.FLOAT;
    }

    @Override
    int elementBytes() {
      return 4;
    }

    @Override
    Span slice(long from, long n) {
      check(from, n);
      return new Dev(acc, start, offset + from, n);
    }

    @Override
    double get(long i) {
      float[] v = new float[1];
      readFloats(i, v, 0, 1);
      return v[0];
    }

    @Override
    void set(long i, double v) {
      writeFloats(i, new float[] {(float) v}, 0, 1);
    }

    @Override
    void read(long i, double[] dst, int dstOff, int n) {
      float[] f = new float[n];
      readFloats(i, f, 0, n);
      for (int k = 0; k < n; k++) {
        dst[dstOff + k] = f[k];
      }
    }

    @Override
    void write(long i, double[] src, int srcOff, int n) {
      float[] f = new float[n];
      for (int k = 0; k < n; k++) {
        f[k] = (float) src[srcOff + k];
      }
      writeFloats(i, f, 0, n);
    }

    @Override
    void accumulate(long i, double[] src, int srcOff, int n) {
      float[] f = new float[n];
      readFloats(i, f, 0, n);
      for (int k = 0; k < n; k++) {
        f[k] = (float) (f[k] + src[srcOff + k]);
      }
      writeFloats(i, f, 0, n);
    }

    @Override
    void writeFloats(long i, float[] src, int srcOff, int n) {
      check(i, n);
      acc.upload(address(i), src, srcOff, n);
    }

    @Override
    void readFloats(long i, float[] dst, int dstOff, int n) {
      check(i, n);
      acc.synchronize();
      acc.download(address(i), dst, dstOff, n);
    }

    @Override
    Pointer pointer(long i) {
      throw new UnsupportedOperationException("a device span has no host pointer");
    }

    @Override
    BytePointer bytePointer(long i) {
      throw new UnsupportedOperationException("a device span has no host pointer");
    }

    @Override
    INDArray view(long from, long... shape) {
      throw new UnsupportedOperationException("a device span has no ND4J view; copy it to the host");
    }

    @Override
    void zero(long from, long n) {
      check(from, n);
      acc.zero(address(from), 4 * n);
    }

    @Override
    void copyFrom(long from, Span src, long srcFrom, long n) {
      check(from, n);
      src.check(srcFrom, n);
      if (src instanceof Dev d) {
        acc.copy(address(from), d.address(srcFrom), 4 * n);
        return;
      }
      copyThroughHost(from, src, srcFrom, n);
    }
  }
}
