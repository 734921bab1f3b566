package ai.cory.common.model;

import java.util.IdentityHashMap;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Maps host spans to device spans over the same elements: each distinct host allocation (a
 * model's flat parameter buffer, an adapter buffer) goes to the device once, as one allocation,
 * and every view of it maps to the matching slice, so the device copy keeps the host layout
 * (named tensors, flat gradient buffers for the allreduce). With {@code zeros} the device
 * buffers start at zero instead of copying (gradients).
 */
final class DeviceCopy implements UnaryOperator<Span> {
  private final Accelerator acc;
  private final boolean zeros;
  private final Map<INDArray, Span> bases = new IdentityHashMap<>();

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
      Span all = Span.of(b);
      Span d = Span.device(acc, acc.alloc(4 * all.length), all.length);
      if (zeros) {
        d.zero();
      } else {
        d.copyFrom(0, all, 0, all.length);
      }
      return d;
    });
    return dev.slice(host.offset - host.base.offset(), host.length);
  }
}
