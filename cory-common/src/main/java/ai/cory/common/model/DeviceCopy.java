package ai.cory.common.model;

import java.util.IdentityHashMap;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Maps host spans to device spans over the same elements: each distinct host allocation (a
 * model's flat parameter buffer, an adapter buffer) goes to the device once, as one allocation,
 * and every view of it maps to the matching slice, so the device copy keeps the host layout
 * (named tensors, flat gradient buffers for the allreduce). With {@code zeros} the device
 * buffers start at zero instead of copying (gradients).
 */
final class DeviceCopy implements UnaryOperator<Span> {
  static final int CHUNK = 64 << 20;
  private final Accelerator acc;
  private final boolean zeros;
  private final Map<Object, Span> bases = new IdentityHashMap<>();

  DeviceCopy(Accelerator acc, boolean zeros) {
    this.acc = acc;
    this.zeros = zeros;
  }

  @Override
  public Span apply(Span host) {
    if (host instanceof Span.Dev) {
      return host;
    }
    if (host.dataType() != DataType.FLOAT) {
      throw new IllegalArgumentException("the device runs float32 models; this one is "
          + host.dataType() + " (cory.model.dtype = float32)");
    }
    Span dev = bases.computeIfAbsent(host.base, b -> {
      Span all = host.whole();
      Span d = Span.device(acc, acc.alloc(4 * all.length), all.length);
      if (zeros) {
        d.zero();
      } else {
        d.copyFrom(0, all, 0, all.length);
      }
      return d;
    });
    return dev.slice(host.offsetInOwner(), host.length);
  }

  /**
   * A matrix on the device: a dense one's span mapped as above; a packed one's stored bytes
   * uploaded as they are (in chunks of at most {@value #CHUNK} bytes) with NF4_DQ's second-level
   * scales, dequantised by the device kernels a tile at a time. Gradients of a packed base do
   * not exist, so with {@code zeros} a packed matrix is refused.
   */
  Matrix apply(Matrix m) {
    if (m == null || m.resident != null) {
      return m;
    }
    if (!m.isPacked()) {
      return Matrix.dense(apply(m.dense), m.outIn);
    }
    if (zeros) {
      throw new IllegalStateException("a packed base has no gradient buffer");
    }
    PackedMatrix p = m.packed;
    long stored = p.storedBytes();
    long at = acc.alloc(Math.max(1, stored));
    byte[] chunk = new byte[(int) Math.min(CHUNK, Math.max(1, stored))];
    for (long from = 0; from < stored; from += chunk.length) {
      int n = (int) Math.min(chunk.length, stored - from);
      p.readStored(from, chunk, n);
      acc.upload(at + from, chunk, 0, n);
    }
    long second = 0;
    float[] s = p.secondScales();
    if (s != null) {
      second = acc.alloc(4L * Math.max(1, s.length));
      acc.upload(second, s, 0, s.length);
    }
    return Matrix.resident(new Matrix.Resident(p.dtype(), p.rows(), p.cols(), at,
        p.scaleStart(), second, p.constantsMean()));
  }
}
