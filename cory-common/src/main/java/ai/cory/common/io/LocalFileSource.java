package ai.cory.common.io;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** {@link FileSource} over a directory of the local file system. */
public final class LocalFileSource implements FileSource {
  private final Path dir;

  public LocalFileSource(Path dir) {
    this.dir = dir.toAbsolutePath().normalize();
  }

  public Path dir() {
    return dir;
  }

  @Override
  public boolean exists(String name) {
    return Files.isRegularFile(dir.resolve(name));
  }

  @Override
  public long size(String name) throws IOException {
    return Files.size(existing(name));
  }

  @Override
  public InputStream open(String name, long offsetBytes) throws IOException {
    FileChannel channel = FileChannel.open(existing(name), StandardOpenOption.READ);
    channel.position(offsetBytes);
    return Channels.newInputStream(channel);
  }

  @Override
  public String describe(String name) {
    return dir.resolve(name).toString();
  }

  private Path existing(String name) throws FileNotFoundException {
    Path p = dir.resolve(name);
    if (!Files.isRegularFile(p)) {
      throw new FileNotFoundException("missing file: " + p);
    }
    return p;
  }
}
