package ai.cory.common.model;

import java.util.ArrayList;
import java.util.List;

/**
 * The device allocations one owner made (a workspace or KV cache, with its device kernels'
 * scratch), given back to the arena together by {@link #release}. On the host ({@code acc}
 * null) it only records that its owner was released.
 */
final class DeviceMemory {
  private final Accelerator acc;
  private final List<Long> owned = new ArrayList<>();
  private boolean released;

  DeviceMemory(Accelerator acc) {
    this.acc = acc;
  }

  /** {@code bytes} of device memory, given back with the rest at {@link #release}. */
  long alloc(long bytes) {
    long at = acc.alloc(bytes);
    owned.add(at);
    return at;
  }

  /** {@code elements} floats of device memory as a span. */
  Span span(long elements) {
    return Span.device(acc, alloc(4 * elements), elements);
  }

  /** Gives back one allocation being replaced by a larger one (0: none yet). */
  void free(long at) {
    if (at != 0 && owned.remove(Long.valueOf(at))) {
      acc.free(at);
    }
  }

  /** Gives everything back; the owner must not be used afterwards. */
  void release() {
    if (!released && acc != null) {
      for (long at : owned) {
        acc.free(at);
      }
      owned.clear();
    }
    released = true;
  }

  boolean released() {
    return released;
  }
}
