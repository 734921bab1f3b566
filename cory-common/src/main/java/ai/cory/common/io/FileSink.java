package ai.cory.common.io;

import java.io.IOException;
import java.io.OutputStream;

/**
 * A writable directory (checkpoints, exported models): a Hadoop FileSystem directory in {@code
 * cory-worker}, anything in tests. Common code never depends on Hadoop.
 */
public interface FileSink {
  /**
   * Creates file {@code name} (a relative path; missing parent directories are created).
   * Closing the stream makes its bytes as durable as the file system allows (e.g. {@code hsync}
   * on HDFS).
   *
   * @throws IOException when the file already exists or cannot be created
   */
  OutputStream create(String name) throws IOException;

  /** Full location of {@code name}, for error messages. */
  String describe(String name);
}
