package ai.cory.common.task;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.io.LocalFileSource;
import ai.cory.common.testing.SharedAssets;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImdbQueriesTest {
  @TempDir Path dir;

  private static LocalFileSource imdbDir() {
    return new LocalFileSource(SharedAssets.path("assets/data/imdb"));
  }

  @Test
  void realSampleFileFiltersTheTrainingSplit() throws IOException {
    // Counts from an independent Python pass over the file: 500 train records, all > 100 chars.
    List<String> reviews = ImdbQueries.readReviews(imdbDir(), "imdb_sample_1000.jsonl",
        ImdbQueryConfig.referenceCode());
    assertEquals(500, reviews.size());
    assertTrue(reviews.get(0).startsWith("Story of a man who has unnatural feelings for a pig."));
    assertTrue(reviews.get(499).startsWith("I have seen the trailer for this movie several times over"));
    ImdbQueryConfig longer = new ImdbQueryConfig(2, 7, 200, "train", "text", true);
    assertEquals(498, ImdbQueries.readReviews(imdbDir(), "imdb_sample_1000.jsonl", longer).size());
    ImdbQueryConfig everything = new ImdbQueryConfig(2, 7, 0, null, "text", true);
    assertEquals(1000, ImdbQueries.readReviews(imdbDir(), "imdb_sample_1000.jsonl", everything).size());
  }

  @Test
  void realGzippedFile() throws IOException {
    // Python: 25,000 train reviews, 24,991 longer than 100 characters.
    List<String> reviews = ImdbQueries.readReviews(imdbDir(), "imdb_labeled.jsonl.gz",
        ImdbQueryConfig.referenceCode());
    assertEquals(24_991, reviews.size());
    assertTrue(reviews.get(0).startsWith("Story of a man who has unnatural feelings for a pig."));
  }

  @Test
  void queryLengthsAreUniformInRangeAndDeterministic() throws IOException {
    List<String> reviews = ImdbQueries.readReviews(imdbDir(), "imdb_sample_1000.jsonl",
        ImdbQueryConfig.referenceCode());
    ImdbQueryConfig noSpecial = new ImdbQueryConfig(2, 7, 100, "train", "text", false);
    ImdbQueries queries = new ImdbQueries(noSpecial, new CharTokenizer(), 42);
    List<TaskPrompt> built = queries.queries(reviews);
    long[] counts = new long[8];
    for (TaskPrompt q : built) {
      int n = q.promptTokens().length;
      assertTrue(n >= 2 && n <= 7, "n = " + n);
      counts[n]++;
      String review = reviews.get((int) q.index());
      assertEquals(review.substring(0, n), q.query()); // char tokens: first n chars
      assertEquals(q.query(), q.prompt());
      assertNull(q.groundTruth());
    }
    double expected = built.size() / 6.0;
    double chi = 0;
    for (int n = 2; n <= 7; n++) {
      chi += (counts[n] - expected) * (counts[n] - expected) / expected;
    }
    assertTrue(chi < 20.5, "chi-square over 6 lengths: " + chi + " " + Arrays.toString(counts)); // p = 0.001
    // Same seed: same queries, built one at a time in any order; another seed: other lengths.
    ImdbQueries again = new ImdbQueries(noSpecial, new CharTokenizer(), 42);
    for (int i = reviews.size() - 1; i >= 0; i -= 37) {
      assertArrayEquals(built.get(i).promptTokens(), again.query(i, reviews.get(i)).promptTokens());
    }
    ImdbQueries reseeded = new ImdbQueries(noSpecial, new CharTokenizer(), 43);
    int differing = 0;
    for (int i = 0; i < reviews.size(); i++) {
      differing += reseeded.queryLength(i) != queries.queryLength(i) ? 1 : 0;
    }
    assertTrue(differing > 300, differing + " of 500 lengths differ"); // 5/6 expected
  }

  @Test
  void specialTokensCountInNButStayOutOfTheText() {
    ImdbQueryConfig config = new ImdbQueryConfig(3, 3, 0, null, "text", true);
    TaskPrompt q = new ImdbQueries(config, new CharTokenizer(), 1).query(0, "Hello world");
    assertArrayEquals(new int[] {CharTokenizer.BOS, 'H', 'e'}, q.promptTokens());
    assertEquals("He", q.query());
  }

  @Test
  void prefixEncodingEqualsTheFullEncodingAndFallsBackWhenShort() {
    ImdbQueryConfig config = new ImdbQueryConfig(5, 5, 0, null, "text", false);
    CharTokenizer tokenizer = new CharTokenizer();
    ImdbQueries queries = new ImdbQueries(config, tokenizer, 1);
    String longReview = "word ".repeat(200);
    assertArrayEquals(Arrays.copyOf(tokenizer.encode(longReview, false), 5), queries.firstTokens(longReview, 5));
    // A review shorter than n tokens: all of it (Python ids[:n]).
    assertArrayEquals(new int[] {'a', 'b'}, queries.firstTokens("ab", 5));
    // A 300-char review without whitespace cannot be cut: encoded whole, once.
    String unbroken = "x".repeat(300);
    tokenizer.encodeCalls = 0;
    assertEquals(5, queries.firstTokens(unbroken, 5).length);
    assertEquals(1, tokenizer.encodeCalls);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> queries.query(9, ""));
    assertTrue(e.getMessage().contains("review 9 encodes to no token"), e.getMessage());
  }

  @Test
  void clearErrorsForBadFiles() throws IOException {
    assertError("{\"text\": \"" + "x".repeat(150) + "\"}\n", ImdbQueryConfig.referenceCode(),
        "line 1: missing field 'split'");
    assertError("{\"split\": \"train\", \"review\": \"abc\"}\n", ImdbQueryConfig.referenceCode(),
        "line 1: missing field 'text'");
    assertError("{\"split\": \"train\", \"text\": \"short\"}\n{\"split\": \"test\", \"text\": \"" + "y".repeat(200) + "\"}\n",
        ImdbQueryConfig.referenceCode(), "no review left of 2 records in split 'train' longer than 100 characters");
    assertError("{\"split\": \"train\", \"text\": \"ok\"}\n{oops}\n", ImdbQueryConfig.referenceCode(),
        "line 2: malformed JSON");
    assertError("", ImdbQueryConfig.referenceCode(), "empty dataset");
  }

  @Test
  void configValidation() {
    assertThrows(IllegalArgumentException.class, () -> new ImdbQueryConfig(0, 7, 100, "train", "text", true));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new ImdbQueryConfig(5, 4, 100, "train", "text", true));
    assertTrue(e.getMessage().contains("maxTokens (4) must be >= minTokens (5)"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new ImdbQueryConfig(2, 7, -1, "train", "text", true));
    assertThrows(IllegalArgumentException.class, () -> new ImdbQueryConfig(2, 7, 0, "train", "", true));
    assertNotEquals(ImdbQueryConfig.paper(), ImdbQueryConfig.referenceCode());
  }

  private void assertError(String content, ImdbQueryConfig config, String expected) throws IOException {
    Path file = dir.resolve("reviews.jsonl");
    Files.writeString(file, content, StandardCharsets.UTF_8);
    IOException e = assertThrows(IOException.class,
        () -> ImdbQueries.readReviews(new LocalFileSource(dir), "reviews.jsonl", config));
    assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
    assertTrue(e.getMessage().contains(expected), e.getMessage());
  }
}
