package ai.cory.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.testing.SharedAssets;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class CoryCliTest {

  private record Run(int code, String out, String err) {}

  private static Run run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = CoryCli.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  @Test
  void usageErrorsExitWithTwoAndSayWhy() {
    Run unknown = run("frobnicate");
    assertEquals(2, unknown.code());
    assertTrue(unknown.err().contains("unknown command 'frobnicate'"), unknown.err());

    Run missing = run("generate", "--model", "demo");
    assertEquals(2, missing.code());
    assertTrue(missing.err().contains("missing required option --prompt"), missing.err());

    Run badNumber = run("generate", "--model", "demo", "--prompt", "x", "--top-k", "many");
    assertEquals(2, badNumber.code());
    assertTrue(badNumber.err().contains("--top-k expects an integer"), badNumber.err());

    Run badTemp = run("generate", "--model", "demo", "--prompt", "x", "--temperature", "0");
    assertEquals(2, badTemp.code());
    assertTrue(badTemp.err().contains("temperature"), badTemp.err());
  }

  @Test
  void missingModelDirectoryFailsNamingThePath() {
    Run r = run("generate", "--model", "/nonexistent/model-dir", "--prompt", "x");
    assertEquals(1, r.code());
    assertTrue(r.err().contains("/nonexistent/model-dir"), r.err());
  }

  @Test
  void demoModelGeneratesReproduciblyFromTheSeed() {
    Run a = run("generate", "--model", "demo", "--prompt", "Hello", "--max-new-tokens", "12",
        "--seed", "5");
    Run b = run("generate", "--model", "demo", "--prompt", "Hello", "--max-new-tokens", "12",
        "--seed", "5");
    assertEquals(0, a.code(), a.err());
    assertTrue(a.out().startsWith("Hello"), a.out());
    assertEquals(a.out(), b.out());
  }

  /** The README's main command: greedy TinyStories text equals llama2.c's reference story. */
  @Test
  void greedyStories260kPrintsTheReferenceStory() {
    String model = SharedAssets.model("stories260K").toString();
    JsonNode golden = SharedAssets.golden("../assets/models/stories260K/llama2c/golden_stories260K.json");
    Run r = run("generate", "--model", model, "--prompt", "Once upon a time", "--greedy",
        "--max-new-tokens", "60");
    assertEquals(0, r.code(), r.err());
    // The empty-prompt case of the golden file is <s> + 64 tokens, the first 4 of which spell
    // "Once upon a time": the same 65 ids as our prompt + 60 new tokens.
    String expected = golden.get("cases").get(0).get("greedy_text").asText();
    assertEquals(expected + "\n", r.out());
  }

  @Test
  void benchPrintsOneJsonObjectPerBench() throws Exception {
    Run r = run("bench", "--model", "demo", "--only", "score,train,generate", "--batch", "2",
        "--seq", "16", "--prompt", "4", "--new", "4", "--repeats", "1", "--warmup", "0");
    assertEquals(0, r.code(), r.err());
    String[] lines = r.out().strip().split("\n");
    assertEquals(3, lines.length, r.out());
    ObjectMapper json = new ObjectMapper();
    for (String line : lines) {
      JsonNode n = json.readTree(line);
      assertTrue(n.get("seconds_median").asDouble() > 0, line);
      assertTrue(n.get("tokens_per_s").asDouble() > 0, line);
      assertTrue(n.get("gemm_gflops").asDouble() > 0, line);
    }
  }
}
