package ai.cory.worker.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileAlreadyExistsException;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One writer per store: a run holds {@code <store>/_lease} (its run id, host and start time,
 * created with {@code overwrite = false}, which HDFS and local file systems make atomic) while it
 * runs, and its driver renews the file's modification time every quarter of the timeout. A
 * second run on the store is refused while the lease is live; a lease not renewed for the
 * timeout (its driver died) is taken over with a warning. Released (deleted) on close.
 */
public final class StoreLease implements AutoCloseable {
  /** The lease file, in the store's root. */
  public static final String FILE = "_lease";
  private static final Logger LOG = LoggerFactory.getLogger(StoreLease.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final FileSystem fs;
  private final Path file;
  private final String runId;
  private final ScheduledExecutorService renewer;

  private StoreLease(FileSystem fs, Path file, String runId, long timeoutMs) {
    this.fs = fs;
    this.file = file;
    this.runId = runId;
    this.renewer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "cory-store-lease");
      t.setDaemon(true);
      return t;
    });
    long every = Math.max(1, timeoutMs / 4);
    renewer.scheduleAtFixedRate(this::renew, every, every, TimeUnit.MILLISECONDS);
  }

  /** Thrown when another live run holds the store. */
  public static final class HeldException extends IOException {
    private static final long serialVersionUID = 1L;

    HeldException(String message) {
      super(message);
    }
  }

  /**
   * Takes the lease of the store at {@code storeUri} for run {@code runId}.
   *
   * @param holder    who holds it, for the refusal message (host, process)
   * @param timeoutMs how long after its last renewal a lease counts as abandoned
   * @throws HeldException naming the holder, since when, and when the lease would expire
   */
  public static StoreLease acquire(String storeUri, Configuration conf, String runId, String holder, long timeoutMs)
      throws IOException {
    URI uri = URI.create(storeUri.endsWith("/") ? storeUri : storeUri + "/");
    FileSystem fs = FileSystem.get(uri, conf);
    Path dir = new Path(uri);
    fs.mkdirs(dir);
    Path file = new Path(dir, FILE);
    ObjectNode content = JSON.createObjectNode();
    content.put("run_id", runId);
    content.put("holder", holder);
    content.put("since", Instant.now().toString());
    byte[] bytes = JSON.writeValueAsBytes(content);
    for (int attempt = 0; attempt < 2; attempt++) {
      try (OutputStream out = fs.create(file, false)) {
        out.write(bytes);
        return new StoreLease(fs, file, runId, timeoutMs);
      } catch (FileAlreadyExistsException e) {
        takeOverIfAbandoned(fs, file, timeoutMs);
      } catch (IOException e) {
        if (!fs.exists(file)) {
          throw e;
        }
        takeOverIfAbandoned(fs, file, timeoutMs); // some file systems report "exists" as a plain IOException
      }
    }
    throw new HeldException("could not take the lease " + file + ": another run took it at the same time");
  }

  /** Deletes an abandoned lease (with a warning), or throws {@link HeldException} for a live one. */
  private static void takeOverIfAbandoned(FileSystem fs, Path file, long timeoutMs) throws IOException {
    long renewed = fs.getFileStatus(file).getModificationTime();
    long age = System.currentTimeMillis() - renewed;
    String who = describe(fs, file);
    if (age < timeoutMs) {
      throw new HeldException("the store is in use: " + file + " is held by " + who + ", renewed "
          + age / 1000 + " s ago; two runs must not write one store. Give this run another cory.run.store (or "
          + "run directory); if that run's driver is dead, its lease expires "
          + Instant.ofEpochMilli(renewed + timeoutMs) + " (cory.runtime.store-lease-timeout = " + timeoutMs / 1000
          + " s)");
    }
    LOG.warn("taking over the abandoned store lease {} of {} (not renewed for {} s)", file, who, age / 1000);
    fs.delete(file, false);
  }

  private static String describe(FileSystem fs, Path file) {
    try (InputStream in = fs.open(file)) {
      JsonNode n = JSON.readTree(new String(in.readAllBytes(), StandardCharsets.UTF_8));
      return "run " + n.path("run_id").asText("?") + " (" + n.path("holder").asText("?") + ", since "
          + n.path("since").asText("?") + ")";
    } catch (IOException | RuntimeException e) {
      return "an unreadable lease (" + e.getMessage() + ")";
    }
  }

  /** Moves the lease's modification time to now: the holder is alive. */
  void renew() {
    try {
      fs.setTimes(file, System.currentTimeMillis(), -1);
    } catch (IOException | RuntimeException e) {
      LOG.warn("could not renew the store lease {}: {}", file, e.toString());
    }
  }

  /** The lease file. */
  public String location() {
    return file.toString();
  }

  /** Stops renewing and deletes the lease when it is still this run's. */
  @Override
  public void close() throws IOException {
    renewer.shutdownNow();
    try (InputStream in = fs.open(file)) {
      JsonNode n = JSON.readTree(new String(in.readAllBytes(), StandardCharsets.UTF_8));
      if (!runId.equals(n.path("run_id").asText())) {
        LOG.warn("the store lease {} was taken over by another run; left to it", file);
        return;
      }
    } catch (FileNotFoundException e) {
      return;
    }
    fs.delete(file, false);
  }
}
