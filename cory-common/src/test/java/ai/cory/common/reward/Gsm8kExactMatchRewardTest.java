package ai.cory.common.reward;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.testing.SharedAssets;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class Gsm8kExactMatchRewardTest {
  private final Gsm8kExactMatchReward reward = new Gsm8kExactMatchReward();

  private double score(String response, String truth) {
    return reward.score(List.of(new RewardInput("Question: ...", response, truth)))[0];
  }

  @ParameterizedTest(name = "[{index}] ''{0}'' -> {1}")
  @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
      "The answer is 72|72",
      "She earned $10.|10",
      "5 + 4 = 9.|9",
      "It costs $1,000 in total|1000",
      "about 1,000,000 people|1000000",
      "2,250 dollars, so 2,250|2250",
      "The temperature is -7 degrees|-7",
      "x = -47.|-47",
      "so -$5 is the change|-5",
      "5-3 = 2, then 10-5|5",
      "18.0|18",
      "18.50 dollars|18.5",
      "a rate of .5 per hour|0.5",
      "Total: 12%.|12",
      "<<48/2=24>>24 clips|24",
      "3rd place, 4 points!|4",
      "1,2,3|3",
      "version 1.2.3|1.2",
      "\"He has 12 apples.\nAnswer: 15\"|15",
  })
  void lastNumberOfHandCases(String text, String expected) {
    assertEquals(0, new BigDecimal(expected).compareTo(Gsm8kExactMatchReward.lastNumber(text)), text);
  }

  @Test
  void noNumber() {
    assertNull(Gsm8kExactMatchReward.lastNumber("I do not know."));
    assertNull(Gsm8kExactMatchReward.lastNumber(""));
    assertNull(Gsm8kExactMatchReward.lastNumber("-$."));
  }

  @Test
  void scoresOneOnlyWhenTheLastNumberEqualsTheTruth() {
    assertEquals(1.0, score("5 + 4 = 9. The answer is 9.", "9"));
    assertEquals(0.0, score("The answer is 9, not 10.", "9"));
    assertEquals(1.0, score("He will have $18.00 left", "Natalia ... = 18\n#### 18"));
    assertEquals(1.0, score("1,080 dollars", "#### 1,080"));
    assertEquals(1.0, score("1080", "#### 1,080"));
    assertEquals(0.0, score("108", "#### 1,080"));
    assertEquals(1.0, score("It drops by -7", "#### -7"));
    assertEquals(0.0, score("It drops by 7", "#### -7"));
    assertEquals(0.0, score("No idea.", "#### 5"));
    assertEquals(1.0, score("0 apples", "#### -0"));
  }

  @Test
  void missingOrEmptyGroundTruthIsAnError() {
    IllegalArgumentException none = assertThrows(IllegalArgumentException.class,
        () -> reward.score(List.of(RewardInput.of("q", "1"), RewardInput.of("q", "2"))));
    assertTrue(none.getMessage().contains("item 0 has no ground truth"), none.getMessage());
    IllegalArgumentException empty = assertThrows(IllegalArgumentException.class,
        () -> Gsm8kExactMatchReward.groundTruth("some reasoning 12\n#### "));
    assertTrue(empty.getMessage().contains("no number after '####'"), empty.getMessage());
  }

  @Test
  void realGsm8kAnswers() throws IOException {
    Path file = SharedAssets.path("assets/data/gsm8k/train.jsonl");
    List<String> lines = Files.readAllLines(file);
    ObjectMapper json = new ObjectMapper();
    // Hand-read finals of records 0, 1, 345, 644 and 5715 (0-based) of train.jsonl.
    int[] records = {0, 1, 345, 644, 5715};
    String[] finals = {"72", "10", "1080", "109200000", "-7"};
    for (int k = 0; k < records.length; k++) {
      String answer = json.readTree(lines.get(records[k])).get("answer").asText();
      assertEquals(0, new BigDecimal(finals[k]).compareTo(Gsm8kExactMatchReward.groundTruth(answer)),
          "record " + records[k]);
    }
    // Every reference solution ends with its own final answer: all 7,473 score 1.
    List<RewardInput> items = new ArrayList<>();
    for (String line : lines) {
      JsonNode record = json.readTree(line);
      String answer = record.get("answer").asText();
      items.add(new RewardInput(record.get("question").asText(), answer, answer));
    }
    double[] scores = reward.score(items);
    assertEquals(7473, scores.length);
    for (int i = 0; i < scores.length; i++) {
      assertEquals(1.0, scores[i], "record " + i);
    }
  }
}
