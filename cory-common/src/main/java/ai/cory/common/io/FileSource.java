package ai.cory.common.io;

import java.io.IOException;
import java.io.InputStream;

/**
 * A read-only directory of files (a Hugging Face model directory, a dataset folder), local or
 * on any Hadoop FileSystem. Common code reads models through this interface only, so it never
 * depends on Hadoop; {@code cory-worker}'s {@code HadoopFileSource} serves {@code hdfs://},
 * {@code s3a://}, {@code file://} URIs and {@link LocalFileSource} serves plain paths.
 */
public interface FileSource {

  /** True if {@code name} (relative to this directory) exists and is a regular file. */
  boolean exists(String name) throws IOException;

  /** Length of {@code name} in bytes. */
  long size(String name) throws IOException;

  /**
   * Opens {@code name} positioned at {@code offsetBytes}. The caller closes the stream.
   *
   * @throws java.io.FileNotFoundException naming the full location when it does not exist
   */
  InputStream open(String name, long offsetBytes) throws IOException;

  /** Full location of {@code name}, for error messages ("hdfs://nn/models/x/config.json"). */
  String describe(String name);
}
