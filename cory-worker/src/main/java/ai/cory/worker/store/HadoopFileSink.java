package ai.cory.worker.store;

import ai.cory.common.io.FileSink;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.StreamCapabilities;

/**
 * {@link FileSink} over a directory of a Hadoop {@link FileSystem}. Files are created with
 * {@code overwrite = false}; on close a stream that can {@code hsync} (HDFS) does so, so that a
 * committed checkpoint survives the loss of the datanodes' page caches. Streams that cannot
 * (S3A, where close uploads the object; the local file system) are simply closed.
 */
final class HadoopFileSink implements FileSink {
  private final FileSystem fs;
  private final Path dir;

  HadoopFileSink(FileSystem fs, Path dir) {
    this.fs = fs;
    this.dir = dir;
  }

  @Override
  public OutputStream create(String name) throws IOException {
    return createSynced(fs, new Path(dir, name), false);
  }

  @Override
  public String describe(String name) {
    return new Path(dir, name).toString();
  }

  /** A new file whose close makes it durable where the file system can. */
  static OutputStream createSynced(FileSystem fs, Path file, boolean overwrite) throws IOException {
    return new SyncOnClose(fs.create(file, overwrite));
  }

  private static final class SyncOnClose extends FilterOutputStream {
    private final FSDataOutputStream stream;

    SyncOnClose(FSDataOutputStream stream) {
      super(stream);
      this.stream = stream;
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      stream.write(b, off, len);
    }

    @Override
    public void close() throws IOException {
      try {
        if (stream.hasCapability(StreamCapabilities.HSYNC)) {
          stream.hsync();
        }
      } finally {
        stream.close();
      }
    }
  }
}
