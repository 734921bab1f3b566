package ai.cory.common.task;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.io.LocalFileSource;
import ai.cory.common.testing.SharedAssets;
import ai.cory.common.tokenizer.HfTokenizer;
import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The task builders with the real GPT-2 and Llama-2 tokenizers. */
class TaskTokenizerTest {

  private static HfTokenizer tokenizer(String name) throws IOException {
    return HfTokenizer.load(new LocalFileSource(SharedAssets.tokenizer(name)));
  }

  @ParameterizedTest
  @ValueSource(strings = {"gpt2", "llama2"})
  void imdbPrefixEncodingGivesTheFirstTokensOfTheFullEncoding(String name) throws IOException {
    ImdbQueryConfig all = new ImdbQueryConfig(2, 16, 0, null, "text", true);
    List<String> reviews = ImdbQueries.readReviews(
        new LocalFileSource(SharedAssets.path("assets/data/imdb")), "imdb_sample_1000.jsonl", all);
    try (HfTokenizer tokenizer = tokenizer(name)) {
      ImdbQueries queries = new ImdbQueries(all, tokenizer, 7);
      // Every 3rd review (full encodings are the slow part) and 767, which has under 16 tokens.
      for (int i = 0; i < reviews.size(); i++) {
        if (i % 3 != 0 && i != 767) {
          continue;
        }
        String review = reviews.get(i);
        int[] full = tokenizer.encode(review, true);
        assertArrayEquals(Arrays.copyOf(full, Math.min(16, full.length)), queries.firstTokens(review, 16),
            name + " review " + i);
        TaskPrompt q = queries.query(i, review);
        int n = queries.queryLength(i);
        assertArrayEquals(Arrays.copyOf(full, Math.min(n, full.length)), q.promptTokens());
        // The query text is what the reward and the observer template see: no special tokens
        // (a literal "<s>" would re-encode as a BOS in the middle of the observer prompt).
        assertEquals(tokenizer.decode(q.promptTokens(), true), q.query());
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"gpt2", "llama2"})
  void gsm8kPromptTokens(String name) throws IOException {
    List<Gsm8kPrompts.Example> test = Gsm8kPrompts.read(
        new LocalFileSource(SharedAssets.path("assets/data/gsm8k")), "test.jsonl");
    try (HfTokenizer tokenizer = tokenizer(name)) {
      TaskPrompt p = new Gsm8kPrompts(tokenizer).prompt(3, test.get(3));
      assertArrayEquals(tokenizer.encode(p.prompt(), true), p.promptTokens());
      if (tokenizer.bosId() >= 0 && name.equals("llama2")) {
        assertEquals(tokenizer.bosId(), p.promptTokens()[0]); // <s> first
      }
      assertEquals(p.prompt(), tokenizer.decode(p.promptTokens(), true));
      assertTrue(p.prompt().endsWith(test.get(3).question() + "\nAnswer:"));
    }
  }
}
