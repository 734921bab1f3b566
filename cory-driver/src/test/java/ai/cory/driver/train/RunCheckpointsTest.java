package ai.cory.driver.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Cutting a run's JSON-lines logs back to a checkpoint before a resume. */
final class RunCheckpointsTest {
  @TempDir
  Path tmp;

  @Test
  void linesAtOrAfterTheCheckpointGoAndTheFileIsReplacedWhole() throws IOException {
    Path log = tmp.resolve("metrics.jsonl");
    Files.write(log, List.of("{\"iteration\":0}", "{\"iteration\":1}", "{\"iteration\":2}", "{\"iteration\":3}"));
    assertNull(RunCheckpoints.truncateFrom(log, 2));
    assertEquals(List.of("{\"iteration\":0}", "{\"iteration\":1}"), Files.readAllLines(log));
    try (Stream<Path> left = Files.list(tmp)) {
      assertEquals(List.of(log), left.toList(), "no temporary file left");
    }
  }

  @Test
  void aTornLastLineIsCutWithAWarningNamingTheFile() throws IOException {
    Path log = tmp.resolve("metrics.jsonl");
    // what SIGKILL in the middle of a write leaves
    Files.writeString(log, "{\"iteration\":0}\n{\"iteration\":1}\n{\"iteration\":2,\"A/pio");
    String warning = RunCheckpoints.truncateFrom(log, 2);
    assertTrue(warning != null && warning.contains(log.toString()) && warning.contains("torn last line 3"), warning);
    assertEquals(List.of("{\"iteration\":0}", "{\"iteration\":1}"), Files.readAllLines(log));
  }

  @Test
  void aMalformedLineBeforeTheLastFailsNamingFileAndLine() throws IOException {
    Path log = tmp.resolve("samples.jsonl");
    Files.write(log, List.of("{\"iteration\":0}", "{\"iteration\":1,", "{\"iteration\":2}"));
    IOException e = assertThrows(IOException.class, () -> RunCheckpoints.truncateFrom(log, 2));
    assertTrue(e.getMessage().startsWith(log + ": line 2 is not JSON"), e.getMessage());
    assertEquals(3, Files.readAllLines(log).size(), "nothing rewritten");
  }
}
