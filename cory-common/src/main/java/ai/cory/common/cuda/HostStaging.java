package ai.cory.common.cuda;

import com.sun.jna.Memory;

/**
 * Host memory a copy to or from the device goes through: per thread one block, grown to the
 * largest copy up to {@value #KEEP} bytes and reused (a pageable {@code cuMemcpyHtoD} returns
 * once the source is staged by the driver, {@code cuMemcpyDtoH} once the data has arrived, so
 * the next copy may reuse it); a larger copy gets a block of its own. Every copy of a decode
 * step (token ids, positions, masks, the results coming back) used to allocate and register a
 * native block.
 */
final class HostStaging {
  /** The largest block a thread keeps. */
  static final long KEEP = 16L << 20;
  private static final long MIN = 64L << 10;
  private static final ThreadLocal<Memory> PER_THREAD = new ThreadLocal<>();

  private HostStaging() {}

  /** At least {@code bytes} bytes, valid until this thread's next call. */
  static Memory of(long bytes) {
    if (bytes > KEEP) {
      return new Memory(bytes);
    }
    Memory m = PER_THREAD.get();
    if (m == null || m.size() < bytes) {
      m = new Memory(Math.max(MIN, Long.highestOneBit(Math.max(1, bytes - 1)) << 1));
      PER_THREAD.set(m);
    }
    return m;
  }
}
