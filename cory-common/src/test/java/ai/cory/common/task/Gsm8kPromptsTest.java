package ai.cory.common.task;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.io.LocalFileSource;
import ai.cory.common.reward.Gsm8kExactMatchReward;
import ai.cory.common.reward.RewardInput;
import ai.cory.common.testing.SharedAssets;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class Gsm8kPromptsTest {
  /** CORY.md section 5 copied by hand (markdown line wraps are spaces, "\n" are newlines). */
  private static final String ONE_SHOT_SHAWN =
      "Question: Shawn has five toys. For Christmas, he got two toys each from his mom and dad. "
      + "How many toys does he have now?\n"
      + "Answer: Shawn started with 5 toys. If he got 2 toys each from his mom and dad, then that "
      + "is 4 more toys. 5 + 4 = 9.\n";

  @TempDir Path dir;

  @Test
  void pioneerTemplateIsByteExact() {
    assertEquals(ONE_SHOT_SHAWN + "Question: {query}\nAnswer:", Gsm8kPrompts.PIONEER_TEMPLATE);
    assertEquals(ONE_SHOT_SHAWN + "Question: What is 2 + 3?\nAnswer:",
        new Gsm8kPrompts(new CharTokenizer()).render("What is 2 + 3?"));
  }

  @Test
  void realTrainingFile() throws IOException {
    LocalFileSource gsm8k = new LocalFileSource(SharedAssets.path("assets/data/gsm8k"));
    List<Gsm8kPrompts.Example> train = Gsm8kPrompts.read(gsm8k, "train.jsonl");
    assertEquals(7473, train.size());
    assertEquals(1319, Gsm8kPrompts.read(gsm8k, "test.jsonl").size());
    Gsm8kPrompts.Example first = train.get(0);
    assertTrue(first.question().startsWith("Natalia sold clips to 48 of her friends in April"));
    assertEquals("72", first.finalAnswer());
    assertEquals("1,080", train.get(345).finalAnswer());
    assertEquals("-7", train.get(5715).finalAnswer());

    CharTokenizer tokenizer = new CharTokenizer();
    TaskPrompt prompt = new Gsm8kPrompts(tokenizer).prompt(0, first);
    String expectedText = ONE_SHOT_SHAWN + "Question: " + first.question() + "\nAnswer:";
    assertEquals(expectedText, prompt.prompt());
    assertEquals(first.question(), prompt.query());
    assertArrayEquals(tokenizer.encode(expectedText, true), prompt.promptTokens());
    assertEquals(CharTokenizer.BOS, prompt.promptTokens()[0]);
    // The kept ground truth drives the reward.
    double[] r = new Gsm8kExactMatchReward().score(List.of(
        new RewardInput(prompt.query(), " 48 / 2 = 24, 48 + 24 = 72.", prompt.groundTruth()),
        new RewardInput(prompt.query(), " 48 + 48 = 96.", prompt.groundTruth())));
    assertArrayEquals(new double[] {1, 0}, r);
  }

  @Test
  void customTemplateAndErrors() throws IOException {
    Gsm8kPrompts custom = new Gsm8kPrompts("Q: {query}\nA:", new CharTokenizer(), false);
    assertEquals("Q: {query} x\nA:", custom.render("{query} x"));
    assertThrows(IllegalArgumentException.class, () -> new Gsm8kPrompts("no placeholder", new CharTokenizer(), true));

    assertError("{\"question\": \"q\", \"answer\": \"a\\n#### 5\"}\n{\"question\": \"q2\"}\n",
        "line 2: missing field 'answer'");
    assertError("{\"question\": \"q\", \"answer\": \"it is 5\"}\n",
        "line 1: field 'answer' has no final number after '####'");
    assertError("{\"question\": \"q\", \"answer\": \"#### five\"}\n",
        "line 1: field 'answer' has no final number after '####'");
    assertError("{\"question\": 1, \"answer\": \"#### 5\"}\n", "line 1: field 'question' must be a string");
    assertError("\n", "empty dataset");
  }

  private void assertError(String content, String expected) throws IOException {
    Path file = dir.resolve("gsm.jsonl");
    Files.writeString(file, content, StandardCharsets.UTF_8);
    IOException e = assertThrows(IOException.class, () -> Gsm8kPrompts.read(new LocalFileSource(dir), "gsm.jsonl"));
    assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
    assertTrue(e.getMessage().contains(expected), e.getMessage());
  }
}
