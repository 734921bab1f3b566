package ai.cory.common.reward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.io.LocalFileSource;
import ai.cory.common.testing.SharedAssets;
import com.typesafe.config.ConfigFactory;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BagOfWordsSentimentRewardTest {
  private static final String README_POSITIVE = "This movie was absolutely wonderful, I loved it.";
  private static final String README_NEGATIVE = "A boring, terrible waste of time.";

  @TempDir Path dir;

  @Test
  void readmeExamplesWithTheRealClassifier() throws IOException {
    Path file = SharedAssets.path("assets/rewards/imdb-bow-logreg.tsv");
    BagOfWordsSentimentReward reward =
        BagOfWordsSentimentReward.load(new LocalFileSource(file.getParent()), "imdb-bow-logreg.tsv");
    assertEquals(28_463, reward.vocabularySize());
    assertEquals(0.398887, reward.bias(), 0);
    assertEquals(1.50, reward.logit(README_POSITIVE), 0.005);
    assertEquals(-2.89, reward.logit(README_NEGATIVE), 0.005);
    // The reward scores query + response: split the README sentence anywhere between tokens.
    double[] scores = reward.score(List.of(
        RewardInput.of("This movie was", " absolutely wonderful, I loved it."),
        RewardInput.of("A boring,", " terrible waste of time.")));
    assertArrayEquals(new double[] {reward.logit(README_POSITIVE), reward.logit(README_NEGATIVE)}, scores, 0);
    // Built by name from config, path resolved locally.
    RewardFunction byName = RewardFactory.create(RewardFactory.BOW_SENTIMENT,
        ConfigFactory.parseMap(Map.of("path", file.toString())));
    assertArrayEquals(scores, byName.score(List.of(
        RewardInput.of("This movie was", " absolutely wonderful, I loved it."),
        RewardInput.of("A boring,", " terrible waste of time."))), 0);
  }

  @Test
  void tokenisationLowercasesReplacesBreaksAndCountsDistinctTokens() throws IOException {
    BagOfWordsSentimentReward reward = load("#bias\t0.5\ngood\t1.0\nbad\t-2.0\nit's\t0.25\nbr\t100\n");
    // tokens: good good it's bad -> distinct {good, it's, bad}: 0.5 + 1 + 0.25 - 2
    assertEquals(-0.25, reward.logit("Good, GOOD<br />it's BAD!"), 1e-15);
    // "<BR />" is lowercased first, then replaced; "<br/>" is not the README's marker.
    assertEquals(1.5, reward.logit("good<BR />x"), 1e-15);
    assertEquals(101.5, reward.logit("good<br/>x"), 1e-15);
    // No separator is inserted between query and response.
    assertEquals(1.5, reward.score(List.of(RewardInput.of("go", "od")))[0], 1e-15);
    assertEquals(0.5, reward.logit(""), 0);
    assertEquals(0.5 - 2.0, reward.logit("goodness bad-"), 1e-15); // "goodness" has no weight
  }

  @Test
  void malformedFilesNameTheFileAndLine() {
    assertFails("", "line 1 must be '#bias<TAB>value', got an empty file");
    assertFails("good\t1.0\n", "line 1 must be '#bias<TAB>value', got 'good\t1.0'");
    assertFails("#bias\tzero\n", "line 1: weight 'zero' is not a finite number");
    assertFails("#bias\t0.1\ngood\t1\nbad -1\n", "line 3: expected 'word<TAB>weight'");
    assertFails("#bias\t0.1\ngood\t1\nbad\t-1\t7\n", "line 3: expected 'word<TAB>weight'");
    assertFails("#bias\t0.1\n\tgood\n", "line 2: expected 'word<TAB>weight'");
    assertFails("#bias\t0.1\ngood\t1\n\nbad\t-1\n", "line 3: expected 'word<TAB>weight', got ''");
    assertFails("#bias\t0.1\ngood\tNaN\n", "line 2: weight 'NaN' is not a finite number");
    assertFails("#bias\t0.1\ngood\t1e999\n", "line 2: weight '1e999' is not a finite number");
    assertFails("#bias\t0.1\ngood\t1\ngood\t2\n", "line 3: word 'good' already defined on line 2");
  }

  @Test
  void invalidUtf8IsReportedWithItsLine() throws IOException {
    byte[] bytes = {'#', 'b', 'i', 'a', 's', '\t', '0', '\n', 'o', 'k', '\t', '1', '\n', (byte) 0xC3, '\t', '1', '\n'};
    Files.write(dir.resolve("bad.tsv"), bytes);
    IOException e = assertThrows(IOException.class,
        () -> BagOfWordsSentimentReward.load(new LocalFileSource(dir), "bad.tsv"));
    assertTrue(e.getMessage().contains("bad.tsv: line 3: not UTF-8"), e.getMessage());
  }

  @Test
  void missingFileThroughTheFactoryNamesTheConfiguredPath() {
    String missing = dir.resolve("absent.tsv").toString();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () ->
        RewardFactory.create("bow-sentiment", ConfigFactory.parseMap(Map.of("path", missing))));
    assertTrue(e.getMessage().contains("path = '" + missing + "'"), e.getMessage());
    assertTrue(e.getCause() instanceof UncheckedIOException);
    assertThrows(IllegalArgumentException.class,
        () -> RewardFactory.create("bow-sentiment", ConfigFactory.empty()));
  }

  private BagOfWordsSentimentReward load(String content) throws IOException {
    Files.writeString(dir.resolve("w.tsv"), content, StandardCharsets.UTF_8);
    return BagOfWordsSentimentReward.load(new LocalFileSource(dir), "w.tsv");
  }

  private void assertFails(String content, String expectedMessagePart) {
    IOException e = assertThrows(IOException.class, () -> load(content));
    assertTrue(e.getMessage().contains(dir.resolve("w.tsv").toString()), e.getMessage());
    assertTrue(e.getMessage().contains(expectedMessagePart), e.getMessage());
    // The same through a plain InputStream with a caller-given description.
    IOException fromStream = assertThrows(IOException.class, () -> BagOfWordsSentimentReward.load(
        new ByteArrayInputStream(content.getBytes(StandardCharsets.UTF_8)), "memory:w"));
    assertTrue(fromStream.getMessage().startsWith("memory:w: "), fromStream.getMessage());
  }
}
