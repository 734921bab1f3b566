package ai.cory.common.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * The kernelParams a launch hands cuLaunchKernel, read back as the driver reads them: entry i
 * points at argument i's value, of its C type; one thread's next launch reuses the memory, other
 * threads have their own.
 */
class LaunchArgsTest {
  @Test
  void entryIPointsAtArgumentIAsTheDriverReadsIt() {
    Pointer p = LaunchArgs.of("k", new Object[] {0x7f00_0000_1234L, -3, 0.25f, 1e-300, 0L});
    assertEquals(0x7f00_0000_1234L, p.getPointer(0).getLong(0));
    assertEquals(-3, p.getPointer(Native.POINTER_SIZE).getInt(0));
    assertEquals(0.25f, p.getPointer(2L * Native.POINTER_SIZE).getFloat(0));
    assertEquals(1e-300, p.getPointer(3L * Native.POINTER_SIZE).getDouble(0));
    assertEquals(0L, p.getPointer(4L * Native.POINTER_SIZE).getLong(0));
    Pointer again = LaunchArgs.of("k", new Object[] {7});
    assertEquals(p, again); // reused: the driver copied the values at the launch
    assertEquals(7, again.getPointer(0).getInt(0));
  }

  @Test
  void threadsHaveTheirOwnAndBadArgumentsAreNamed() throws Exception {
    Pointer mine = LaunchArgs.of("k", new Object[] {1L});
    Pointer theirs = CompletableFuture.supplyAsync(() -> LaunchArgs.of("k", new Object[] {2L}))
        .get();
    assertNotEquals(mine, theirs);
    assertEquals(1L, mine.getPointer(0).getLong(0));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> LaunchArgs.of("gelu_forward", new Object[] {1L, "x"}));
    assertEquals("gelu_forward argument 1: unsupported x", e.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> LaunchArgs.of("k", new Object[LaunchArgs.MAX + 1]));
  }
}
