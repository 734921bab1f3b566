package ai.cory.common.cuda;

/**
 * One plain device allocation per replica, handed out in 256-byte aligned slices (no managed
 * memory, no allocator calls after start-up): weights, adapters, optimizer state, KV cache and
 * activations all live in it. Slices are freed together ({@link #reset} or {@link #close}).
 * Not thread-safe.
 */
public final class DeviceArena implements AutoCloseable {
  private static final long ALIGN = 256;

  private final long base;
  private final long capacity;
  private final Runnable free;
  private long used;
  private boolean closed;

  /**
   * @param base     the device address of an allocation of {@code capacity} bytes
   * @param free     releases it
   */
  DeviceArena(long base, long capacity, Runnable free) {
    this.base = base;
    this.capacity = capacity;
    this.free = free;
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

  /** The device address of the allocation. */
  public long base() {
    return base;
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      free.run();
    }
  }
}
