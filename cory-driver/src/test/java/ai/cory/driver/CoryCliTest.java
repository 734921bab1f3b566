package ai.cory.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.cuda.CudaDevices;
import ai.cory.common.cuda.CudaLibraries;
import ai.cory.common.cuda.KernelSource;
import ai.cory.common.testing.SharedAssets;
import ai.cory.driver.spark.TrainingFailedException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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
    assertEquals(CoryCli.BAD_INPUT, r.code());
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

  /** Each kind of failure has its own exit code, and file-system errors read as sentences. */
  @Test
  void failuresExitWithTheirKindAndFileErrorsSayWhatHappened(@TempDir Path tmp) throws Exception {
    Run badKey = run("train", "--run-dir", tmp.resolve("r").toString(), "ppo.minibatch-size=3");
    assertEquals(CoryCli.BAD_SETTINGS, badKey.code(), badKey.err());
    assertTrue(badKey.err().contains("cory.ppo.minibatch-size"), badKey.err());

    Path file = Files.writeString(tmp.resolve("a-file"), "x");
    Run blocked = run("train", "--run-dir", file.resolve("run").toString());
    assertEquals(CoryCli.BAD_INPUT, blocked.code(), blocked.err());
    assertTrue(blocked.err().contains(file.toString()) && !blocked.err().contains("Exception"), blocked.err());

    assertEquals(CoryCli.RUN_FAILED, CoryCli.exitCode(new TrainingFailedException("iteration 3 failed", null)));
    assertEquals(CoryCli.FAILED, CoryCli.exitCode(new IllegalStateException("unexpected")));
    assertEquals("permission denied: /runs/x", CoryCli.describe(new AccessDeniedException("/runs/x")));
    String wrapped = CoryCli.describe(new UncheckedIOException(new NoSuchFileException("/m/config.json")));
    assertTrue(wrapped.endsWith("no such file or directory: /m/config.json"), wrapped);
  }

  @Test
  void doctorCompilesEveryKernelForEveryTargetAndNamesTheBackends() {
    String dir = System.getProperty("cory.test.nvrtc.dir");
    Assumptions.assumeTrue(dir != null && java.nio.file.Files.isDirectory(java.nio.file.Path.of(dir)),
        "NVRTC was not unpacked by the build");
    String before = System.getProperty(CudaLibraries.DIR_PROPERTY);
    System.setProperty(CudaLibraries.DIR_PROPERTY, dir);
    try {
      Run doctor = run("doctor", "--compile-kernels", "sm_80,sm_90");
      assertEquals(0, doctor.code(), doctor.err() + doctor.out());
      assertTrue(doctor.out().contains("vector api: ") && doctor.out().contains("blas: OpenBLAS"), doctor.out());
      assertTrue(doctor.out().contains("backends: cpu usable; cuda "), doctor.out());
      int lines = 0;
      for (String line : doctor.out().split("\n")) {
        if (line.startsWith("kernel ")) {
          assertTrue(line.matches("kernel \\w+ +sm_(80|90): ok, \\d+ entry points, .*"), line);
          lines++;
        }
      }
      assertEquals(2 * KernelSource.NAMES.size(), lines, doctor.out());
      assertTrue(doctor.out().contains("every kernel compiled for every target"), doctor.out());

      Run bad = run("doctor", "--compile-kernels", "ampere");
      assertEquals(2, bad.code());
      assertTrue(bad.err().contains("'ampere' is not an sm_XY target"), bad.err());
    } finally {
      if (before == null) {
        System.clearProperty(CudaLibraries.DIR_PROPERTY);
      } else {
        System.setProperty(CudaLibraries.DIR_PROPERTY, before);
      }
    }
  }

  @Test
  void cudaWithoutAGpuStopsGenerateWithOneLine() {
    Assumptions.assumeFalse(CudaDevices.probe(false).usable(), "this machine has a GPU");
    Run gen = run("generate", "--model", "demo", "--prompt", "hi", "--device", "cuda");
    assertEquals(CoryCli.BAD_SETTINGS, gen.code());
    assertTrue(gen.err().startsWith("cory generate: cory.model.device = cuda: this machine has no usable GPU: "),
        gen.err());
    Run bad = run("bench", "--device", "tpu");
    assertEquals(2, bad.code());
    assertTrue(bad.err().contains("--device: 'tpu' is not cpu, cuda or auto"), bad.err());
  }
}
