package ai.cory.driver.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.config.Settings;
import ai.cory.common.task.TaskPrompt;
import ai.cory.common.testing.SharedAssets;
import ai.cory.worker.eval.EvalSampler;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Held-out evaluation: GSM8K scoring and pass@k on hand-made responses with known answers, and
 * real sampling on stories260K giving the same numbers on one executor and on two.
 */
final class EvaluationTest {

  private static Settings settings(Path dir, String task, String... more) throws Exception {
    Path config = dir.resolve("eval.conf");
    Files.writeString(config, String.join("\n",
        "cory.model.path = \"" + SharedAssets.model("stories260K") + "\"",
        "cory.reward.path = \"" + SharedAssets.path("assets/rewards/imdb-bow-logreg.tsv") + "\"",
        "cory.generation { max-new-tokens = 6, repetition-penalty = 1.1 }",
        ""));
    List<String> overrides = new ArrayList<>(List.of("task.type=" + task));
    overrides.addAll(List.of(more));
    return Settings.load(config, overrides);
  }

  private static EvalSampler.Result row(long index, String text) {
    return new EvalSampler.Result(index, new int[] {1, 2}, text, 0, Double.NaN, 0);
  }

  @Test
  void gsm8kScoresTheLastNumberAndEstimatesPassAtK(@TempDir Path dir) throws Exception {
    Settings s = settings(dir, "gsm8k", "task.data=\"" + SharedAssets.path("assets/data/gsm8k/test.jsonl") + "\"");
    List<TaskPrompt> prompts = List.of(
        new TaskPrompt(0, "q0", "q0", new int[] {1}, "Natalia sold 48/2 = 24 clips.\n#### 72"),
        new TaskPrompt(1, "q1", "q1", new int[] {1}, "#### 1,000"));
    List<EvalSampler.Result> rows = List.of(
        row(0, " She sold 48 + 24 = 72 clips."),      // correct: the last number is 72
        row(1, " The answer is 72, not 24"),           // wrong: the last number is 24
        row(2, " 72.0"),                               // correct: compared by value
        row(3, " nothing"),                            // wrong: no number
        row(4, " 999 then 1000"),                      // correct: 1,000 == 1000
        row(5, " $1,000.5"),                           // wrong
        row(6, " -1000"),                              // wrong
        row(7, " 10000"));                             // wrong
    double[] scores = Evaluation.score(s, prompts, rows, 4, null);
    assertArrayEquals(new double[] {1, 0, 1, 0, 1, 0, 0, 0}, scores);
    Map<String, Double> m = Evaluation.metrics(s.task(), 2, 4, List.of(1, 2, 4), rows, scores, false);
    // q0: 2 of 4 correct, q1: 1 of 4; pass@1 = mean fraction, pass@2 = 1 - C(n-c,2)/C(4,2), pass@4 = any
    assertEquals((0.5 + 0.25) / 2, m.get("pass@1"), 1e-12);
    assertEquals(((1 - 1.0 / 6) + (1 - 3.0 / 6)) / 2, m.get("pass@2"), 1e-12);
    assertEquals(1.0, m.get("pass@4"), 1e-12);
    assertEquals(2.0, m.get("response_len_mean"));
  }

  @Test
  void twoExecutorsGiveTheNumbersOfOneAndTheBaseHasNoKlToItself(@TempDir Path dir) throws Exception {
    String data = "task.data=\"" + SharedAssets.path("assets/data/imdb/imdb_sample_1000.jsonl") + "\"";
    String model = SharedAssets.model("stories260K").toString();
    List<Evaluation.Outcome> outcomes = new ArrayList<>();
    for (int workers : new int[] {1, 2}) {
      Settings s = settings(dir, "imdb", data, "task.max-examples=10", "task.imdb.split=null", "workers=" + workers);
      outcomes.add(Evaluation.run(new Evaluation.Request(s, model, model, List.of(3), 6, 4),
          new PrintStream(new ByteArrayOutputStream(), true)));
    }
    Evaluation.Outcome one = outcomes.get(0);
    Evaluation.Outcome two = outcomes.get(1);
    assertEquals(30, one.rows().size(), "10 prompts x 3 samples");
    for (int i = 0; i < one.rows().size(); i++) {
      assertArrayEquals(one.rows().get(i).response(), two.rows().get(i).response(), "row " + i);
      assertEquals(one.rows().get(i).logp(), two.rows().get(i).logp(), 0.0);
    }
    assertEquals(one.metrics(), two.metrics());
    assertEquals(0.0, one.metrics().get("kl"), 0.0, "the model is its own reference");
    assertTrue(one.metrics().get("distinct-1") > 0 && one.metrics().get("distinct-1") <= 1);
    assertTrue(one.metrics().get("entropy_per_token") > 0);
    // three samples of one prompt differ (sampling, not a repeated row)
    assertTrue(!one.rows().get(0).text().equals(one.rows().get(1).text())
        || !one.rows().get(1).text().equals(one.rows().get(2).text()));
  }
}
