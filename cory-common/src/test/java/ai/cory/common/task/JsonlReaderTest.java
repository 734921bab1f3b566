package ai.cory.common.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.io.LocalFileSource;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JsonlReaderTest {
  private static final String CONTENT = "{\"text\": \"a\", \"n\": 1}\n\n  \n{\"text\": \"b\u00e9\"}\n";

  @TempDir Path dir;

  private List<String> texts(String name) throws IOException {
    List<String> out = new ArrayList<>();
    JsonlReader.read(new LocalFileSource(dir), name, r -> out.add(r.lineNumber() + ":" + r.text("text")));
    return out;
  }

  @Test
  void plainAndGzipAreDetectedByContentNotName() throws IOException {
    Files.writeString(dir.resolve("plain.jsonl.gz"), CONTENT, StandardCharsets.UTF_8);
    try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(dir.resolve("packed.jsonl")))) {
      out.write(CONTENT.getBytes(StandardCharsets.UTF_8));
    }
    List<String> expected = List.of("1:a", "4:b\u00e9"); // blank lines skipped, numbers kept
    assertEquals(expected, texts("plain.jsonl.gz"));
    assertEquals(expected, texts("packed.jsonl"));
  }

  @Test
  void errorsNameTheFileAndLine() throws IOException {
    assertError("{\"text\": \"a\"}\n{\"text\": \"b\"\n", "bad.jsonl: line 2: malformed JSON");
    assertError("{\"text\": \"a\"}\n[1, 2]\n", "bad.jsonl: line 2: expected a JSON object, got array");
    assertError("{\"text\": \"a\"}\n{\"txt\": \"b\"}\n", "bad.jsonl: line 2: missing field 'text'");
    assertError("{\"text\": 3}\n", "bad.jsonl: line 1: field 'text' must be a string, got number");
    assertError("{\"text\": null}\n", "bad.jsonl: line 1: missing field 'text'");
    assertError("", "bad.jsonl: empty dataset (no JSON record in 0 lines)");
    assertError("\n \n", "bad.jsonl: empty dataset (no JSON record in 2 lines)");
  }

  private void assertError(String content, String expected) throws IOException {
    Files.writeString(dir.resolve("bad.jsonl"), content, StandardCharsets.UTF_8);
    IOException e = assertThrows(IOException.class, () -> texts("bad.jsonl"));
    assertTrue(e.getMessage().contains(expected), e.getMessage());
    assertTrue(e.getMessage().startsWith(dir.resolve("bad.jsonl").toString()), e.getMessage());
  }
}
