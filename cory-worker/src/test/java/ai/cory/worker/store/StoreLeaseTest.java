package ai.cory.worker.store;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One writer per store, on the local file system through Hadoop's FileSystem API. */
final class StoreLeaseTest {
  private static final long TIMEOUT_MS = 60_000;

  @Test
  void aSecondRunIsRefusedWhileTheLeaseIsLiveAndTakesItOverOnceAbandoned(@TempDir Path store) throws Exception {
    String uri = store.toUri().toString();
    Configuration conf = new Configuration();
    StoreLease first = StoreLease.acquire(uri, conf, "run-1", "host-a, pid 1", TIMEOUT_MS);
    Path file = store.resolve(StoreLease.FILE);
    assertTrue(Files.readString(file).contains("run-1"));

    StoreLease.HeldException refused = assertThrows(StoreLease.HeldException.class,
        () -> StoreLease.acquire(uri, conf, "run-2", "host-b, pid 2", TIMEOUT_MS));
    assertTrue(refused.getMessage().contains("the store is in use") && refused.getMessage().contains("run run-1")
        && refused.getMessage().contains("host-a, pid 1") && refused.getMessage().contains("store-lease-timeout"),
        refused.getMessage());

    // run-1's driver died: no renewal for longer than the timeout
    Files.setLastModifiedTime(file, FileTime.fromMillis(System.currentTimeMillis() - 2 * TIMEOUT_MS));
    StoreLease second = StoreLease.acquire(uri, conf, "run-2", "host-b, pid 2", TIMEOUT_MS);
    assertTrue(Files.readString(file).contains("run-2"));
    first.close(); // the old holder's release leaves the new holder's lease alone
    assertTrue(Files.readString(file).contains("run-2"));

    long before = Files.getLastModifiedTime(file).toMillis();
    Thread.sleep(5);
    second.renew();
    assertTrue(Files.getLastModifiedTime(file).toMillis() > before - 1000, "renewed");
    second.close();
    assertFalse(Files.exists(file), "released");
    StoreLease.acquire(uri, conf, "run-3", "host-c, pid 3", TIMEOUT_MS).close(); // free again
  }
}
