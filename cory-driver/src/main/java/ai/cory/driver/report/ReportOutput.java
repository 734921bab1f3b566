package ai.cory.driver.report;

import ai.cory.common.io.FileSourceResolver;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;

/**
 * Where a report's files go: a local directory (each file written aside and moved into place, so
 * a browser never sees half a figure) or a directory on any Hadoop file system.
 */
public abstract class ReportOutput {

  /** Writes (replaces) {@code name} in the directory. */
  public abstract void write(String name, byte[] bytes) throws IOException;

  /** The full location of {@code name}, for messages. */
  public abstract String describe(String name);

  /** A plain path opens a local directory (created); a URI with a scheme, a Hadoop one. */
  public static ReportOutput open(String dirOrUri, Configuration conf) throws IOException {
    if (!FileSourceResolver.SCHEME.matcher(dirOrUri).find()) {
      Path dir = Path.of(dirOrUri);
      Files.createDirectories(dir);
      return new Local(dir);
    }
    URI uri = URI.create(dirOrUri.endsWith("/") ? dirOrUri : dirOrUri + "/");
    return new Hadoop(FileSystem.get(uri, conf), new org.apache.hadoop.fs.Path(uri));
  }

  private static final class Local extends ReportOutput {
    private final Path dir;

    Local(Path dir) {
      this.dir = dir;
    }

    @Override
    public void write(String name, byte[] bytes) throws IOException {
      Path tmp = dir.resolve("." + name + ".tmp");
      Files.write(tmp, bytes);
      Files.move(tmp, dir.resolve(name), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    @Override
    public String describe(String name) {
      return dir.resolve(name).toString();
    }
  }

  private static final class Hadoop extends ReportOutput {
    private final FileSystem fs;
    private final org.apache.hadoop.fs.Path dir;

    Hadoop(FileSystem fs, org.apache.hadoop.fs.Path dir) throws IOException {
      this.fs = fs;
      this.dir = dir;
      fs.mkdirs(dir);
    }

    @Override
    public void write(String name, byte[] bytes) throws IOException {
      try (OutputStream out = fs.create(new org.apache.hadoop.fs.Path(dir, name), true)) {
        out.write(bytes);
      }
    }

    @Override
    public String describe(String name) {
      return new org.apache.hadoop.fs.Path(dir, name).toString();
    }
  }
}
