package ai.cory.worker.store;

import ai.cory.common.io.FileSink;
import java.io.IOException;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.ChecksumFileSystem;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Writes a directory of files (an exported model) at any Hadoop FileSystem location so that
 * readers find it complete or not at all: the files go into a temporary sibling
 * {@code _tmp-<name>-<uuid>}, which then replaces the target (a directory of that name is
 * deleted first). A failed write deletes the temporary directory and leaves the target as it
 * was. On the local file system no {@code .crc} side files are written.
 */
public final class HadoopDirectoryWriter {
  private HadoopDirectoryWriter() {}

  /** What goes into the directory. */
  @FunctionalInterface
  public interface Contents {
    void writeTo(FileSink sink) throws IOException;
  }

  /**
   * @param target    the directory: a URI ({@code hdfs://nn:8020/runs/x/final/A}) or a path
   *                  qualified against {@code fs.defaultFS}
   * @param conf      Hadoop configuration
   * @param contents  writes the files
   * @return the qualified target directory
   */
  public static String replace(String target, Configuration conf, Contents contents) throws IOException {
    Path dir = new Path(target);
    FileSystem fs = dir.getFileSystem(conf);
    if (fs instanceof ChecksumFileSystem checksummed) {
      fs = checksummed.getRawFileSystem(); // a model directory without .crc side files
    }
    dir = fs.makeQualified(dir);
    Path parent = dir.getParent();
    if (parent == null) {
      throw new IOException("cannot write a directory at the root of " + dir);
    }
    if (!fs.mkdirs(parent)) {
      throw new IOException("cannot create " + parent);
    }
    Path tmp = new Path(parent, "_tmp-" + dir.getName() + "-" + UUID.randomUUID());
    try {
      contents.writeTo(new HadoopFileSink(fs, tmp));
      if (fs.exists(dir) && !fs.delete(dir, true)) {
        throw new IOException("cannot delete the previous " + dir);
      }
      if (!fs.rename(tmp, dir)) {
        throw new IOException("could not rename " + tmp + " to " + dir);
      }
    } catch (IOException | RuntimeException e) {
      try {
        fs.delete(tmp, true);
      } catch (IOException cleanup) {
        e.addSuppressed(cleanup);
      }
      throw e;
    }
    return dir.toString();
  }
}
