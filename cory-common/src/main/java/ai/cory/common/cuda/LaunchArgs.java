package ai.cory.common.cuda;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;

/**
 * A launch's {@code kernelParams} for {@code cuLaunchKernel}: per thread, one block of 8-byte
 * argument slots and the array of pointers to them, allocated once and reused by every launch
 * (the driver copies the argument values when it is called, so the next launch may overwrite
 * them). A launch used to allocate one native block per argument plus the pointer array: a
 * dozen allocations, each with its cleaner, per kernel, hundreds of kernels per decode step.
 */
final class LaunchArgs {
  /** More arguments than any CORY kernel takes. */
  static final int MAX = 32;
  private static final ThreadLocal<LaunchArgs> PER_THREAD = ThreadLocal.withInitial(LaunchArgs::new);

  private final Memory values = new Memory(8L * MAX);
  private final Memory params = new Memory((long) Native.POINTER_SIZE * MAX);

  private LaunchArgs() {
    for (int i = 0; i < MAX; i++) {
      params.setPointer((long) i * Native.POINTER_SIZE, values.share(8L * i, 8));
    }
  }

  /**
   * The calling thread's {@code kernelParams} holding {@code args}: {@code Long} (device
   * pointers, 0 for null, and {@code long long}), {@code Integer}, {@code Float}, {@code Double}.
   * Valid until this thread's next call.
   */
  static Pointer of(String kernel, Object[] args) {
    if (args.length > MAX) {
      throw new IllegalArgumentException(kernel + " takes " + args.length + " arguments, more than "
          + MAX);
    }
    LaunchArgs l = PER_THREAD.get();
    for (int i = 0; i < args.length; i++) {
      long at = 8L * i;
      Object a = args[i];
      if (a instanceof Long v) {
        l.values.setLong(at, v);
      } else if (a instanceof Integer v) {
        l.values.setInt(at, v);
      } else if (a instanceof Float v) {
        l.values.setFloat(at, v);
      } else if (a instanceof Double v) {
        l.values.setDouble(at, v);
      } else {
        throw new IllegalArgumentException(kernel + " argument " + i + ": unsupported " + a);
      }
    }
    return l.params;
  }
}
