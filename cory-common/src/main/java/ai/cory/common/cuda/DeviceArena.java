package ai.cory.common.cuda;

/**
 * One plain device allocation per replica, handed out in 256-byte aligned slices (no managed
 * memory, no allocator calls after start-up): weights, adapters, optimizer state, KV cache and
 * activations all live in it. A slice given back ({@link #free}: a workspace or KV cache that
 * is done) joins a free list, merged with free neighbours, that later slices are cut from
 * first-fit before the arena's untouched top; everything goes at once with {@link #reset} or
 * {@link #close}. Work on the device is ordered on one stream, so a slice freed while kernels
 * that read it are still queued is reused only by work queued after them. Not thread-safe.
 */
public final class DeviceArena implements AutoCloseable {
  private static final long ALIGN = 256;

  private final long base;
  private final long capacity;
  private final Runnable free;
  private long used;              // the top: bytes below it were handed out at least once
  private long live;              // bytes of the slices handed out and not given back
  private final java.util.TreeMap<Long, Long> freeBlocks = new java.util.TreeMap<>(); // offset, bytes
  private final java.util.Map<Long, Long> sizes = new java.util.HashMap<>();          // offset, bytes
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
    if (bytes < 0) {
      throw new IllegalArgumentException(bytes + " bytes");
    }
    long size = Math.max(ALIGN, (bytes + ALIGN - 1) / ALIGN * ALIGN);
    for (java.util.Map.Entry<Long, Long> f : freeBlocks.entrySet()) {
      if (f.getValue() >= size) { // first fit; the rest stays free
        long at = f.getKey();
        freeBlocks.remove(at);
        if (f.getValue() > size) {
          freeBlocks.put(at + size, f.getValue() - size);
        }
        return handOut(at, size);
      }
    }
    long at = (used + ALIGN - 1) / ALIGN * ALIGN;
    if (at + size > capacity) {
      throw new CudaException("device arena of " + GpuInfo.gib(capacity) + " is full: "
          + GpuInfo.gib(live) + " in use, " + bytes + " bytes more asked");
    }
    used = at + size;
    return handOut(at, size);
  }

  private long handOut(long at, long size) {
    sizes.put(at, size);
    live += size;
    return base + at;
  }

  /** Gives back a slice {@link #alloc} handed out; merged with its free neighbours. */
  public void free(long address) {
    long at = address - base;
    Long size = sizes.remove(at);
    if (size == null) {
      throw new IllegalArgumentException("0x" + Long.toHexString(address)
          + " is not a live slice of this arena");
    }
    live -= size;
    java.util.Map.Entry<Long, Long> next = freeBlocks.ceilingEntry(at);
    if (next != null && next.getKey() == at + size) {
      freeBlocks.remove(next.getKey());
      size += next.getValue();
    }
    java.util.Map.Entry<Long, Long> prev = freeBlocks.floorEntry(at);
    if (prev != null && prev.getKey() + prev.getValue() == at) {
      freeBlocks.remove(prev.getKey());
      at = prev.getKey();
      size += prev.getValue();
    }
    if (at + size == used) { // the top comes down instead
      used = at;
    } else {
      freeBlocks.put(at, size);
    }
  }

  /** A slice of {@code n} floats. */
  public long floats(long n) {
    return alloc(4 * n);
  }

  /** Bytes of the slices in use (handed out and not given back). */
  public long used() {
    return live;
  }

  public long capacity() {
    return capacity;
  }

  /** Forgets every slice (the memory stays allocated). */
  public void reset() {
    used = 0;
    live = 0;
    freeBlocks.clear();
    sizes.clear();
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
