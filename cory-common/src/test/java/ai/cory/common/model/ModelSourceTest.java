package ai.cory.common.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.io.FileSourceResolver;
import ai.cory.common.testing.SharedAssets;
import ai.cory.common.tokenizer.HfTokenizer;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The one way a model is named: a Hugging Face directory, or the built-in demo model. */
final class ModelSourceTest {
  @TempDir
  Path tmp;

  @Test
  void theDemoModelIsASourceLikeAnyOther() throws IOException {
    ModelSource demo = ModelSource.of(DemoModel.NAME, FileSourceResolver.local());
    assertSame(DemoModel.SOURCE, demo);
    assertEquals(DemoModel.config(), demo.config());
    assertNull(demo.files(), "no files to copy beside exports");
    assertTrue(ModelSource.builtIn("demo") && !ModelSource.builtIn("/models/demo"));
  }

  @Test
  void aDirectoryWithoutItsTokenizerIsNamed() throws IOException {
    Files.writeString(tmp.resolve("config.json"), "{}");
    FileNotFoundException e = assertThrows(FileNotFoundException.class,
        () -> ModelSource.of(tmp.toString(), FileSourceResolver.local()).config());
    assertTrue(e.getMessage().startsWith("not a Hugging Face model directory, missing")
        && e.getMessage().contains("tokenizer.json"), e.getMessage());
  }

  /** An added token whose id the model cannot embed is refused when the tokenizer is loaded. */
  @Test
  void aTokenizerWithIdsPastTheModelsVocabularyIsRefused() throws IOException {
    Path stories = SharedAssets.model("stories260K");
    Files.copy(stories.resolve("config.json"), tmp.resolve("config.json"));
    String tokenizer = Files.readString(stories.resolve("tokenizer.json"));
    Files.writeString(tmp.resolve("tokenizer.json"), tokenizer.replaceFirst("\"added_tokens\"\\s*:\\s*\\[",
        "\"added_tokens\": [{\"id\": 100000, \"content\": \"<far>\", \"single_word\": false, \"lstrip\": false, "
            + "\"rstrip\": false, \"normalized\": false, \"special\": true},"));
    IOException e = assertThrows(IOException.class,
        () -> ModelSource.of(tmp.toString(), FileSourceResolver.local()).tokenizer());
    assertTrue(e.getMessage().contains("token ids up to 100000") && e.getMessage().contains("vocab_size 512"),
        e.getMessage());
    try (HfTokenizer ok = (HfTokenizer) ModelSource.of(stories.toString(), FileSourceResolver.local()).tokenizer()) {
      assertEquals(512, ok.vocabSize());
    }
  }
}
