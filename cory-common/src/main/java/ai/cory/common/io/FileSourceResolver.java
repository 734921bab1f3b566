package ai.cory.common.io;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns a user-given location (config value, CLI flag) into a {@link FileSource}. Common code
 * has only local files; the worker passes a resolver backed by Hadoop FileSystems (e.g.
 * {@code ai.cory.worker.store.FileSources::open} with its Configuration) for {@code hdfs://},
 * {@code s3a://} and the like.
 */
@FunctionalInterface
public interface FileSourceResolver {
  /** RFC 3986 scheme followed by ':'; at least two characters so "C:" stays a path. */
  Pattern SCHEME = Pattern.compile("^[A-Za-z][A-Za-z0-9+.-]+:");

  /** The directory at {@code pathOrUri}. */
  FileSource directory(String pathOrUri) throws IOException;

  /**
   * The file at {@code pathOrUri}, as its parent directory plus its name
   * ({@code "hdfs://nn/r/w.tsv"} -> {@code "hdfs://nn/r"} + {@code "w.tsv"}).
   */
  default FileLocation file(String pathOrUri) throws IOException {
    int slash = pathOrUri.lastIndexOf('/');
    if (slash == pathOrUri.length() - 1) {
      throw new IllegalArgumentException("'" + pathOrUri + "' names a directory, expected a file");
    }
    String parent = slash < 0 ? "." : pathOrUri.substring(0, slash);
    if (slash >= 0) {
      Matcher scheme = SCHEME.matcher(parent);
      String rest = scheme.find() ? parent.substring(scheme.end()) : parent;
      if (rest.isEmpty() || rest.equals("//")) {
        parent = pathOrUri.substring(0, slash + 1); // "/x", "file:/x", "file:///x": keep the root
      }
    }
    return new FileLocation(directory(parent), pathOrUri.substring(slash + 1));
  }

  /** Plain local paths and {@code file:} URIs; any other scheme fails naming it. */
  static FileSourceResolver local() {
    return pathOrUri -> {
      if (!SCHEME.matcher(pathOrUri).find()) {
        return new LocalFileSource(Path.of(pathOrUri));
      }
      URI uri = URI.create(pathOrUri);
      if ("file".equalsIgnoreCase(uri.getScheme())) {
        return new LocalFileSource(Path.of(uri));
      }
      throw new IOException("cannot open '" + pathOrUri + "': scheme '" + uri.getScheme()
          + "' needs a Hadoop FileSystem resolver (only local paths and file: URIs here)");
    };
  }

  /** One file: a directory and the file's name in it. */
  record FileLocation(FileSource directory, String name) {
    /** Full location for messages. */
    public String describe() {
      return directory.describe(name);
    }
  }
}
