package ai.cory.common.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.io.FileSourceResolver.FileLocation;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileSourceResolverTest {
  @TempDir Path dir;

  @Test
  void splitsAFileLocationIntoDirectoryAndName() throws IOException {
    Files.writeString(dir.resolve("w.tsv"), "hello");
    FileSourceResolver local = FileSourceResolver.local();
    for (String location : new String[] {dir.resolve("w.tsv").toString(), dir.resolve("w.tsv").toUri().toString()}) {
      FileLocation file = local.file(location);
      assertEquals("w.tsv", file.name());
      assertEquals(dir.resolve("w.tsv").toString(), file.describe());
      try (InputStream in = file.directory().open(file.name(), 0)) {
        assertEquals("hello", new String(in.readAllBytes()));
      }
    }
    assertEquals(Path.of(".").toAbsolutePath().normalize().resolve("w.tsv").toString(),
        local.file("w.tsv").describe());
    assertEquals("/w.tsv", local.file("/w.tsv").describe());
    assertEquals("/w.tsv", local.file("file:///w.tsv").describe());
  }

  @Test
  void schemesAreHandedToTheResolverAndRejectedLocally() throws IOException {
    List<String> asked = new ArrayList<>();
    FileSourceResolver recording = location -> {
      asked.add(location);
      return new LocalFileSource(dir);
    };
    assertEquals("w.tsv", recording.file("hdfs://nn:8020/rewards/w.tsv").name());
    recording.file("s3a://bucket/w.tsv");
    assertEquals(List.of("hdfs://nn:8020/rewards", "s3a://bucket"), asked);
    IOException e = assertThrows(IOException.class, () -> FileSourceResolver.local().file("hdfs://nn/x.tsv"));
    assertTrue(e.getMessage().contains("scheme 'hdfs'"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> FileSourceResolver.local().file("/tmp/dir/"));
  }
}
