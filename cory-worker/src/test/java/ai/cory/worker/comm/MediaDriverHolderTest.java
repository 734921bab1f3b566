package ai.cory.worker.comm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.worker.comm.MediaDriverSettings.Threading;
import io.aeron.Aeron;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class MediaDriverHolderTest {

  @Test
  void embeddedDriverIsSharedAndStopsWithTheLastReference() {
    MediaDriverSettings settings = MediaDriverSettings.embedded(Threading.SHARED);
    MediaDriverHolder first = MediaDriverHolder.acquire(settings);
    MediaDriverHolder second = MediaDriverHolder.acquire(settings);
    Path directory = Path.of(first.aeronDirectoryName());
    try {
      assertTrue(first.isEmbedded());
      assertEquals(first.aeronDirectoryName(), second.aeronDirectoryName());
      assertTrue(Files.isDirectory(directory));
      IllegalStateException other =
          assertThrows(
              IllegalStateException.class,
              () ->
                  MediaDriverHolder.acquire(MediaDriverSettings.embedded(Threading.DEDICATED)));
      assertTrue(other.getMessage().contains("cannot share"), other.getMessage());
    } finally {
      first.close();
      first.close(); // idempotent: must not release the second reference
    }
    assertTrue(Files.isDirectory(directory), "driver stopped while a reference was held");
    try (MediaDriverHolder external =
            MediaDriverHolder.acquire(MediaDriverSettings.external(second.aeronDirectoryName()));
        Aeron client =
            Aeron.connect(new Aeron.Context().aeronDirectoryName(external.aeronDirectoryName()))) {
      assertFalse(external.isEmbedded());
      assertTrue(client.clientId() >= 0);
    }
    second.close();
    assertFalse(Files.exists(directory), "the last release must delete " + directory);
  }

  @Test
  void configuredDirectoryIsUsedAndRemoved(@TempDir Path parent) {
    Path directory = parent.resolve("aeron");
    MediaDriverSettings settings =
        new MediaDriverSettings(true, directory.toString(), Threading.SHARED, 1 << 20);
    try (MediaDriverHolder driver = MediaDriverHolder.acquire(settings)) {
      assertEquals(directory.toString(), driver.aeronDirectoryName());
      assertTrue(Files.exists(directory.resolve("cnc.dat")));
    }
    assertFalse(Files.exists(directory));
  }

  @Test
  void externalDriverMustBeRunning(@TempDir Path empty) {
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () -> MediaDriverHolder.acquire(MediaDriverSettings.external(empty.toString())));
    assertTrue(e.getMessage().contains(empty.toString()), e.getMessage());
  }

  @Test
  void theDriversDirectoryIsItsOwnersAlone(@TempDir Path parent) throws Exception {
    Path directory = parent.resolve("aeron");
    try (MediaDriverHolder driver =
        MediaDriverHolder.acquire(new MediaDriverSettings(true, directory.toString(), Threading.SHARED, 1 << 20))) {
      assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(directory)));
    }
  }

  @Test
  void directoriesOfDeadProcessesAreRemovedAndLiveOnesKept(@TempDir Path base) throws Exception {
    Process gone = new ProcessBuilder("true").start();
    gone.waitFor();
    long deadPid = gone.pid();
    Path dead = base.resolve(MediaDriverHolder.DIRECTORY_PREFIX + deadPid + "-" + UUID.randomUUID());
    Path mine = base.resolve(MediaDriverHolder.DIRECTORY_PREFIX + ProcessHandle.current().pid() + "-"
        + UUID.randomUUID());
    Path live = base.resolve(MediaDriverHolder.DIRECTORY_PREFIX + ProcessHandle.current().parent().orElseThrow().pid()
        + "-" + UUID.randomUUID());
    Path other = base.resolve(MediaDriverHolder.DIRECTORY_PREFIX + "not-ours");
    for (Path p : new Path[] {dead, mine, live, other}) {
      Files.createDirectories(p);
      Files.write(p.resolve("cnc.dat"), new byte[4096]);
    }
    assertEquals(List.of(dead), MediaDriverHolder.removeStaleDirectories(base));
    assertFalse(Files.exists(dead));
    assertTrue(Files.exists(mine) && Files.exists(live) && Files.exists(other));
  }
}
