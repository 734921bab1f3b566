package ai.cory.common.cuda;

import com.sun.jna.ptr.LongByReference;

/**
 * One plain device allocation per replica, handed out in 256-byte aligned slices (no managed
 * memory, no allocator calls after start-up): weights, adapters, optimizer state, KV cache and
 * activations all live in it. Slices are freed together ({@link #reset} or {@link #close}).
 * Not thread-safe.
 */
public final class DeviceArena implements AutoCloseable {
  private static final long ALIGN = 256;

  private final CudaContext context;
  private final long base;
  private final long capacity;
  private long used;
  private boolean closed;

  DeviceArena(CudaContext context, long capacity) {
    this.context = context;
    this.capacity = capacity;
    LongByReference p = new LongByReference();
    context.bind();
    context.driver().check("cuMemAlloc(" + GpuInfo.gib(capacity) + " arena on "
        + context.gpu().describe() + ")", context.driver().api().cuMemAlloc_v2(p, capacity));
    this.base = p.getValue();
  }

  /** A slice of {@code bytes}; fails naming the arena's size when it is full. */
  public long alloc(long bytes) {
    if (closed) {
      throw new IllegalStateException("arena closed");
    }
    long at = (used + ALIGN - 1) / ALIGN * ALIGN;
    if (bytes < 0 || at + bytes > capacity) {
      throw new CudaException("device arena of " + GpuInfo.gib(capacity) + " is full: "
          + GpuInfo.gib(at) + " used, " + bytes + " bytes more asked");
    }
    used = at + bytes;
    return base + at;
  }

  /** A slice of {@code n} floats. */
  public long floats(long n) {
    return alloc(4 * n);
  }

  /** Bytes handed out so far. */
  public long used() {
    return used;
  }

  public long capacity() {
    return capacity;
  }

  /** Forgets every slice (the memory stays allocated). */
  public void reset() {
    used = 0;
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      context.bind();
      context.driver().api().cuMemFree_v2(base);
    }
  }
}
