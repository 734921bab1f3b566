package ai.cory.common.cuda;

import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.jna.Memory;
import org.junit.jupiter.api.Test;

/** The staging block a thread's copies go through: reused, grown once, large copies apart. */
class HostStagingTest {
  @Test
  void aThreadReusesOneBlockGrownToItsLargestCopy() {
    Memory small = HostStaging.of(16);
    assertTrue(small.size() >= 16);
    assertSame(small, HostStaging.of(small.size()));
    Memory grown = HostStaging.of(small.size() + 1);
    assertNotSame(small, grown);
    assertTrue(grown.size() >= small.size() + 1);
    assertSame(grown, HostStaging.of(100));
    Memory large = HostStaging.of(HostStaging.KEEP + 1); // its own block, the kept one stays
    assertTrue(large.size() == HostStaging.KEEP + 1);
    assertSame(grown, HostStaging.of(100));
  }
}
