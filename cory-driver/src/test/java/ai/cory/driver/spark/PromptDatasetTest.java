package ai.cory.driver.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.config.Settings;
import ai.cory.common.model.DemoModel;
import ai.cory.common.task.TaskPrompt;
import ai.cory.common.testing.SharedAssets;
import ai.cory.common.tokenizer.ByteTokenizer;
import ai.cory.common.tokenizer.HfTokenizer;
import ai.cory.common.tokenizer.Tokenizer;
import ai.cory.driver.train.DefaultRun;
import ai.cory.worker.store.FileSources;
import com.typesafe.config.ConfigUtil;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Prompts read as a Spark Dataset ({@link PromptDataset}) equal the single-JVM reader's
 * ({@link TaskData}) prompt for prompt: same filtering, same dataset indices, same query cuts and
 * tokens; from JSON Lines and from Parquet.
 */
final class PromptDatasetTest {
  @RegisterExtension
  static final LocalSpark SPARK = new LocalSpark(2);

  @TempDir
  Path tmp;

  private static Settings settings(String model, Path data, String... extra) {
    StringBuilder hocon = new StringBuilder("cory.model.path = " + ConfigUtil.quoteString(model) + "\n"
        + "cory.task.data = " + ConfigUtil.quoteString(data.toString()) + "\n");
    for (String e : extra) {
      hocon.append(e).append('\n');
    }
    return Settings.parse(hocon.toString());
  }

  private static void assertSamePrompts(List<TaskPrompt> expected, List<TaskPrompt> actual) {
    assertEquals(expected.size(), actual.size());
    for (int i = 0; i < expected.size(); i++) {
      TaskPrompt e = expected.get(i);
      TaskPrompt a = actual.get(i);
      String where = "prompt " + i;
      assertEquals(e.index(), a.index(), where);
      assertEquals(e.query(), a.query(), where);
      assertEquals(e.prompt(), a.prompt(), where);
      assertArrayEquals(e.promptTokens(), a.promptTokens(), where);
      assertEquals(e.groundTruth(), a.groundTruth(), where);
    }
  }

  private static List<TaskPrompt> singleJvm(Settings settings, Tokenizer tokenizer, int context) throws IOException {
    return TaskData.load(settings, tokenizer, FileSources.resolver(new Configuration()), context);
  }

  @Test
  void imdbSampleWithTheStoriesTokenizerMatchesTheSingleJvmReader() throws Exception {
    Path model = SharedAssets.model("stories260K");
    Path data = SharedAssets.path("assets/data/imdb/imdb_sample_1000.jsonl");
    Settings s = settings(model.toString(), data, "cory.task.max-examples = 300", "cory.run.seed = 7");
    List<TaskPrompt> distributed = PromptDataset.load(SPARK.session(), s, 512);
    try (HfTokenizer tokenizer = HfTokenizer.load(new ai.cory.common.io.LocalFileSource(model))) {
      assertSamePrompts(singleJvm(s, tokenizer, 512), distributed);
    }
    assertEquals(300, distributed.size());
  }

  @Test
  void gsm8kWithTheStoriesTokenizerMatchesTheSingleJvmReader() throws Exception {
    Path model = SharedAssets.model("stories260K");
    Path data = SharedAssets.path("assets/data/gsm8k/test.jsonl");
    Settings s = settings(model.toString(), data, "cory.task.type = gsm8k", "cory.task.max-examples = 50",
        "cory.reward.type = gsm8k-exact-match");
    List<TaskPrompt> distributed = PromptDataset.load(SPARK.session(), s, 1 << 20);
    try (HfTokenizer tokenizer = HfTokenizer.load(new ai.cory.common.io.LocalFileSource(model))) {
      assertSamePrompts(singleJvm(s, tokenizer, 1 << 20), distributed);
    }
    assertEquals(50, distributed.size());
    assertTrue(distributed.get(0).groundTruth() != null && !distributed.get(0).groundTruth().isEmpty());
  }

  @Test
  void demoPromptsFromParquetEqualTheJsonLines() throws Exception {
    DefaultRun demo = DefaultRun.demo(tmp.resolve("run"));
    Path json = tmp.resolve("run/inputs/prompts.jsonl");
    Path parquet = tmp.resolve("prompts.parquet");
    SPARK.session().read().json(json.toString()).coalesce(1).write().parquet(parquet.toString());
    Settings fromJson = Settings.load(demo.config(), demo.overrides());
    List<String> overrides = new ArrayList<>(demo.overrides());
    overrides.add("task.data=" + ConfigUtil.quoteString(parquet.toString()));
    Settings fromParquet = Settings.load(demo.config(), overrides);
    int context = DemoModel.config().maxPositions();
    List<TaskPrompt> expected = singleJvm(fromJson, new ByteTokenizer(), context);
    assertSamePrompts(expected, PromptDataset.load(SPARK.session(), fromJson, context));
    assertSamePrompts(expected, PromptDataset.load(SPARK.session(), fromParquet, context));
    assertEquals(48, expected.size());
  }

  @Test
  void aRecordWithoutTheTextFieldIsNamed() throws Exception {
    Path data = tmp.resolve("bad.jsonl");
    Files.writeString(data, "{\"text\": \"a review long enough\"}\n{\"body\": \"no text here\"}\n",
        StandardCharsets.UTF_8);
    Settings s = settings(DemoModel.NAME, data, "cory.task.imdb.split = null", "cory.task.imdb.min-review-chars = 0");
    IOException e = assertThrows(IOException.class, () -> PromptDataset.load(SPARK.session(), s, 512));
    assertTrue(e.getMessage().contains("record 1") && e.getMessage().contains("'text'"), e.getMessage());
  }

  @Test
  void aLineThatIsNotJsonIsNamedWithItsFileAndPosition() throws Exception {
    Path data = tmp.resolve("torn.jsonl");
    Files.writeString(data, "{\"text\": \"a review long enough\"}\n{\"text\": \"cut in the mid\n"
        + "{\"text\": \"another review\"}\n", StandardCharsets.UTF_8);
    Settings s = settings(DemoModel.NAME, data, "cory.task.imdb.split = null", "cory.task.imdb.min-review-chars = 0");
    IOException e = assertThrows(IOException.class, () -> PromptDataset.load(SPARK.session(), s, 512));
    assertTrue(e.getMessage().contains("torn.jsonl: record 1 (0-based, file order) is not JSON: {\"text\": \"cut in"),
        e.getMessage());
  }

  @Test
  void aPromptLongerThanTheContextFailsBeforeTraining() throws Exception {
    Path data = tmp.resolve("long.jsonl");
    Files.writeString(data, "{\"text\": \"" + "x".repeat(40) + "\"}\n", StandardCharsets.UTF_8);
    Settings s = settings(DemoModel.NAME, data, "cory.task.imdb.split = null", "cory.task.imdb.min-review-chars = 0",
        "cory.task.imdb.min-query-tokens = 30", "cory.task.imdb.max-query-tokens = 30");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> PromptDataset.load(SPARK.session(), s, 40));
    assertTrue(e.getMessage().contains("context of 40"), e.getMessage());
  }
}
