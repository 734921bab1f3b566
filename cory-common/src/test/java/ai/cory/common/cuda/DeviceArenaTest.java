package ai.cory.common.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The arena's slices: 256-byte aligned, given back slices reused first-fit and merged with free
 * neighbours, the top lowered when the last slice goes, a full arena named, a foreign address
 * refused. What keeps a device replica's memory flat across evaluations and regrown
 * workspaces.
 */
class DeviceArenaTest {
  @Test
  void freedSlicesAreReusedMergedAndTheTopComesDown() {
    try (DeviceArena arena = new ValidatingDevice().arena(1 << 20)) {
      long a = arena.alloc(1000);
      long b = arena.alloc(300);
      long c = arena.alloc(4096);
      assertEquals(0, (b - a) % 256);
      assertEquals(1024 + 512 + 4096, arena.used());
      arena.free(a);
      assertEquals(a, arena.alloc(512), "first fit in a's place");
      arena.free(b);
      long ab = a; // a's rest and b merge once a goes again
      arena.free(ab);
      assertEquals(ab, arena.alloc(1024 + 512), "a and b merged");
      arena.free(ab);
      arena.free(c);
      assertEquals(0, arena.used());
      assertEquals(a, arena.alloc(1 << 19), "everything free again from the bottom");
      assertThrows(IllegalArgumentException.class, () -> arena.free(a + 256));
      CudaException full = assertThrows(CudaException.class, () -> arena.alloc(1 << 20));
      assertTrue(full.getMessage().startsWith("device arena of "), full.getMessage());
    }
  }
}
