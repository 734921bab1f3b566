package ai.cory.worker.comm;

import io.aeron.CommonContext;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import java.io.File;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.agrona.IoUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A reference to the Aeron media driver the workers of this JVM share.
 *
 * <p>Embedded: the first {@link #acquire} launches one driver per JVM, later ones share it, and the
 * last {@link #close()} stops it and deletes its directory (a shutdown hook does the same if the
 * JVM exits with references still held). External: the holder only checks that a driver is alive in
 * the configured directory and owns nothing.
 *
 * <pre>{@code
 * try (MediaDriverHolder driver = MediaDriverHolder.acquire(settings);
 *      RingAllreduce ring = RingAllreduce.connect(driver.aeronDirectoryName(), ringConfig)) { ... }
 * }</pre>
 */
public final class MediaDriverHolder implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(MediaDriverHolder.class);
  private static final long EXTERNAL_DRIVER_CHECK_MS = 2_000;
  private static final Object LOCK = new Object();
  private static SharedDriver shared; // guarded by LOCK
  private static boolean shutdownHookInstalled; // guarded by LOCK

  private final SharedDriver driver;
  private final String aeronDirectoryName;
  private final AtomicBoolean released = new AtomicBoolean();

  private MediaDriverHolder(final SharedDriver driver, final String aeronDirectoryName) {
    this.driver = driver;
    this.aeronDirectoryName = aeronDirectoryName;
  }

  /**
   * Takes a reference to this JVM's embedded driver (launching it if none runs) or checks the
   * external one.
   *
   * @throws IllegalStateException the embedded driver already runs with other settings, or no
   *     external driver is alive in the directory
   */
  public static MediaDriverHolder acquire(final MediaDriverSettings settings) {
    Objects.requireNonNull(settings, "settings");
    if (!settings.embedded()) {
      final File directory = new File(settings.directory());
      if (!CommonContext.isDriverActive(directory, EXTERNAL_DRIVER_CHECK_MS, LOG::debug)) {
        throw new IllegalStateException(
            "no active Aeron media driver in '%s' (checked for %d ms); start one or use embedded"
                .formatted(directory, EXTERNAL_DRIVER_CHECK_MS));
      }
      return new MediaDriverHolder(null, directory.getPath());
    }
    synchronized (LOCK) {
      if (shared == null) {
        shared = SharedDriver.launch(settings);
        installShutdownHook();
      } else if (!shared.compatibleWith(settings)) {
        throw new IllegalStateException(
            "this JVM's embedded media driver already runs with %s in %s; cannot share it with %s"
                .formatted(shared.settings, shared.directory, settings));
      }
      shared.references++;
      return new MediaDriverHolder(shared, shared.directory);
    }
  }

  /** The Aeron directory clients connect to ({@code Aeron.Context.aeronDirectoryName}). */
  public String aeronDirectoryName() {
    return aeronDirectoryName;
  }

  /** Whether this holder refers to a driver launched in this JVM. */
  public boolean isEmbedded() {
    return driver != null;
  }

  /** Releases this reference; the last one stops the embedded driver. Idempotent. */
  @Override
  public void close() {
    if (!released.compareAndSet(false, true) || driver == null) {
      return;
    }
    synchronized (LOCK) {
      driver.references--;
      if (driver.references == 0) {
        driver.stop();
        if (shared == driver) {
          shared = null;
        }
      }
    }
  }

  private static void installShutdownHook() {
    if (shutdownHookInstalled) {
      return;
    }
    shutdownHookInstalled = true;
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  synchronized (LOCK) {
                    if (shared != null) {
                      shared.stop();
                      shared = null;
                    }
                  }
                },
                "cory-aeron-driver-shutdown"));
  }

  /** The driver itself plus its reference count (guarded by LOCK). */
  private static final class SharedDriver {
    private final MediaDriverSettings settings;
    private final String directory;
    private final MediaDriver mediaDriver;
    private int references;

    private SharedDriver(
        final MediaDriverSettings settings, final String directory, final MediaDriver mediaDriver) {
      this.settings = settings;
      this.directory = directory;
      this.mediaDriver = mediaDriver;
    }

    static SharedDriver launch(final MediaDriverSettings settings) {
      if (settings.directory() == null) {
        removeStaleDirectories(baseDirectory());
      }
      final String directory =
          settings.directory() != null ? settings.directory() : uniqueDirectory();
      final long startNs = System.nanoTime();
      // dirDeleteOnStart=false: Aeron then refuses a directory with a live driver in it
      // (ActiveDriverException) and only deletes stale ones.
      final MediaDriver mediaDriver =
          MediaDriver.launch(
              new MediaDriver.Context()
                  .aeronDirectoryName(directory)
                  .dirDeleteOnStart(false)
                  .dirDeleteOnShutdown(true)
                  .threadingMode(ThreadingMode.valueOf(settings.threadingMode().name()))
                  .publicationTermBufferLength(settings.termLengthBytes())
                  .ipcTermBufferLength(settings.termLengthBytes())
                  .errorHandler(t -> LOG.warn("Aeron media driver error in {}", directory, t)));
      restrictToOwner(Path.of(directory));
      LOG.info(
          "launched embedded Aeron media driver in {} ({}, {} ms)",
          directory,
          settings.threadingMode(),
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs));
      return new SharedDriver(settings, directory, mediaDriver);
    }

    boolean compatibleWith(final MediaDriverSettings other) {
      return other.embedded()
          && (other.directory() == null || other.directory().equals(directory))
          && other.threadingMode() == settings.threadingMode()
          && other.termLengthBytes() == settings.termLengthBytes();
    }

    void stop() {
      mediaDriver.close(); // dirDeleteOnShutdown removes the directory
      LOG.info("stopped embedded Aeron media driver in {}", directory);
    }

    /** /dev/shm when present (memory-backed, Aeron's own Linux default), else java.io.tmpdir. */
    private static String uniqueDirectory() {
      return baseDirectory()
          .resolve(DIRECTORY_PREFIX + ProcessHandle.current().pid() + "-" + UUID.randomUUID())
          .toString();
    }
  }

  /** Prefix of the embedded drivers' generated directories: {@code cory-aeron-<pid>-<uuid>}. */
  static final String DIRECTORY_PREFIX = "cory-aeron-";

  private static final Pattern GENERATED =
      Pattern.compile(Pattern.quote(DIRECTORY_PREFIX) + "(\\d+)-[0-9a-f-]{36}");

  /** Where generated directories go: /dev/shm (memory-backed) when writable, else java.io.tmpdir. */
  static Path baseDirectory() {
    final Path shm = Path.of("/dev/shm");
    return Files.isDirectory(shm) && Files.isWritable(shm)
        ? shm
        : Path.of(System.getProperty("java.io.tmpdir"));
  }

  /**
   * Deletes the generated driver directories under {@code base} whose process is gone (a JVM
   * killed with SIGKILL leaves its directory, 65 MB of memory under /dev/shm, behind). Directories
   * of live processes are left alone.
   *
   * @return the directories removed
   */
  static List<Path> removeStaleDirectories(final Path base) {
    final List<Path> removed = new ArrayList<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(base, DIRECTORY_PREFIX + "*")) {
      for (final Path dir : entries) {
        final Matcher m = GENERATED.matcher(dir.getFileName().toString());
        if (!m.matches()) {
          continue;
        }
        final long pid = Long.parseLong(m.group(1));
        if (pid == ProcessHandle.current().pid() || ProcessHandle.of(pid).isPresent()) {
          continue;
        }
        IoUtil.delete(dir.toFile(), true);
        if (!Files.exists(dir)) {
          removed.add(dir);
          LOG.info("removed the Aeron directory {} of process {}, which is gone", dir, pid);
        }
      }
    } catch (final IOException | RuntimeException e) {
      LOG.warn("could not look for stale Aeron directories in {}: {}", base, e.toString());
    }
    return removed;
  }

  /** Only this user may read the driver's files (its buffers carry gradients). */
  static void restrictToOwner(final Path directory) {
    try {
      Files.setPosixFilePermissions(directory, PosixFilePermissions.fromString("rwx------"));
    } catch (final UnsupportedOperationException e) {
      LOG.debug("{}: no POSIX permissions on this file system", directory);
    } catch (final IOException e) {
      LOG.warn("could not restrict {} to its owner: {}", directory, e.toString());
    }
  }
}
