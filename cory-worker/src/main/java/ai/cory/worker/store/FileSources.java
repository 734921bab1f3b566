package ai.cory.worker.store;

import ai.cory.common.io.FileSource;
import ai.cory.common.io.FileSourceResolver;
import ai.cory.common.io.LocalFileSource;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;

/** Chooses the {@link FileSource} for a user-given location (CLI flag, config value). */
public final class FileSources {
  private FileSources() {}

  /** Opens every user-given location through {@link #open} with {@code conf}. */
  public static FileSourceResolver resolver(Configuration conf) {
    return pathOrUri -> open(pathOrUri, conf);
  }

  /**
   * A plain path (no scheme) opens a {@link LocalFileSource}; any URI with a scheme ({@code
   * file://}, {@code hdfs://}, {@code s3a://}) opens a {@link HadoopFileSource} with {@code conf}.
   */
  public static FileSource open(String pathOrUri, Configuration conf) throws IOException {
    if (!FileSourceResolver.SCHEME.matcher(pathOrUri).find()) {
      return new LocalFileSource(Path.of(pathOrUri));
    }
    URI uri;
    try {
      uri = new URI(pathOrUri);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("malformed URI '" + pathOrUri + "': " + e.getReason(), e);
    }
    return HadoopFileSource.open(uri, conf);
  }
}
