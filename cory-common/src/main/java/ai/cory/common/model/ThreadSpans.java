package ai.cory.common.model;

import org.nd4j.linalg.api.buffer.DataType;

/**
 * Off-heap scratch spans kept per thread and per use, grown to the largest size asked for and
 * then reused, for kernels that have no workspace of their own (a packed matrix's dequantised
 * tile, LoRA's (N, r) intermediates): after the first call of a shape nothing is allocated.
 */
final class ThreadSpans {
  /** A packed matrix's dequantised tile ({@link Matrix}). */
  static final int TILE = 0;
  /** LoRA's {@code u = x A^T} ({@link Lora}). */
  static final int LORA_U = 1;
  /** LoRA's {@code du = s dy B} ({@link Lora}). */
  static final int LORA_DU = 2;
  private static final int SLOTS = 3;
  private static final ThreadLocal<Span[]> SPANS = ThreadLocal.withInitial(() -> new Span[2 * SLOTS]);

  private ThreadSpans() {}

  /** This thread's span of at least {@code n} elements of {@code type} for {@code slot}; contents stale. */
  static Span get(int slot, DataType type, long n) {
    Span[] spans = SPANS.get();
    int i = 2 * slot + (type == DataType.FLOAT ? 0 : 1);
    if (spans[i] == null || spans[i].length < n) {
      spans[i] = HostMemory.zeros(type, Math.max(1, n));
    }
    return spans[i];
  }
}
