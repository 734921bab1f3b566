package ai.cory.worker.store;

import ai.cory.common.io.FileSource;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * {@link FileSource} over a directory of any Hadoop {@link FileSystem} ({@code hdfs://}, {@code
 * s3a://}, {@code file://}, ...). Streams are positioned with {@code seek}, so tensor reads fetch
 * only the bytes they need. The FileSystem instance is Hadoop's shared cached one and is not
 * closed here.
 */
public final class HadoopFileSource implements FileSource {
  private final FileSystem fs;
  private final Path dir;

  /** A source over {@code dir} of {@code fs}; {@code dir} is qualified against the file system. */
  public HadoopFileSource(FileSystem fs, Path dir) {
    this.fs = fs;
    this.dir = fs.makeQualified(dir);
  }

  /** A source over the directory {@code uri} ("hdfs://nn:8020/models/gpt2"). */
  public static HadoopFileSource open(URI uri, Configuration conf) throws IOException {
    Path dir = new Path(uri);
    return new HadoopFileSource(dir.getFileSystem(conf), dir);
  }

  /** The qualified directory. */
  public Path dir() {
    return dir;
  }

  @Override
  public boolean exists(String name) throws IOException {
    try {
      return fs.getFileStatus(child(name)).isFile();
    } catch (FileNotFoundException e) {
      return false;
    }
  }

  @Override
  public long size(String name) throws IOException {
    return existing(name).getLen();
  }

  @Override
  public InputStream open(String name, long offsetBytes) throws IOException {
    FileStatus status = existing(name);
    if (offsetBytes < 0 || offsetBytes > status.getLen()) {
      throw new IOException(describe(name) + ": offset " + offsetBytes + " outside the file's "
          + status.getLen() + " bytes");
    }
    FSDataInputStream in = fs.open(status.getPath());
    try {
      in.seek(offsetBytes);
    } catch (IOException | RuntimeException e) {
      in.close();
      throw e;
    }
    return in;
  }

  @Override
  public String describe(String name) {
    return child(name).toString();
  }

  private Path child(String name) {
    return new Path(dir, name);
  }

  private FileStatus existing(String name) throws IOException {
    FileStatus status;
    try {
      status = fs.getFileStatus(child(name));
    } catch (FileNotFoundException e) {
      throw new FileNotFoundException("missing file: " + describe(name));
    }
    if (!status.isFile()) {
      throw new FileNotFoundException("not a regular file: " + describe(name));
    }
    return status;
  }
}
