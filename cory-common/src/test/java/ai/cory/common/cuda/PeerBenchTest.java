package ai.cory.common.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.cory.common.config.Compute.GemmMath;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The engine bench beside the PyTorch peer: the peer is asked for the engine's shapes, its
 * records are matched by model, mode and precision, and a peer that cannot run is one line. The
 * peer's own numbers need a GPU with CUDA torch; here its process handling runs a stand-in
 * script that prints what torch_peer.py prints.
 */
class PeerBenchTest {
  private static final EngineBench.Case GPT2 = EngineBench.CASES.get(0);
  private static final EngineBench.Case LLAMA_NF4 = EngineBench.CASES.get(1);

  @Test
  void thePeerIsAskedForTheEnginesShapes() {
    PeerBench peer = new PeerBench("python3", Path.of("torch_peer.py"));
    assertEquals(List.of("python3", "torch_peer.py", "--device", "cuda", "--dtype", "bfloat16",
        "--model", "llama2-7b", "--seq", "128", "--prompt", "8", "--new", "32", "--repeats", "5",
        "--batch", "4", "--lora-rank", "16"), peer.command(LLAMA_NF4, GemmMath.BF16));
    // GPT-2: train and score over 8 rows, generate 64: the peer's own defaults, so no --batch
    assertEquals(List.of("python3", "torch_peer.py", "--device", "cuda", "--dtype", "tf32",
        "--model", "gpt2-small", "--seq", "128", "--prompt", "8", "--new", "32", "--repeats",
        "5"), peer.command(GPT2, GemmMath.TF32));
  }

  @Test
  void recordsPairByModelModeAndPrecision() throws IOException {
    ObjectMapper json = new ObjectMapper();
    JsonNode train = json.readTree("{\"bench\":\"train\",\"model\":\"llama2-7b\",\"dtype\":"
        + "\"tf32\",\"batch\":4,\"seq\":128,\"tokens_per_s\":2000.0}");
    JsonNode generate = json.readTree("{\"bench\":\"generate\",\"model\":\"llama2-7b\","
        + "\"dtype\":\"tf32\",\"batch\":2,\"prompt\":8,\"new\":32,\"tokens_per_s\":100.0}");
    List<EngineBench.Result> ours = List.of(
        new EngineBench.Result(LLAMA_NF4, GemmMath.TF32, "train", 0.25, 512, 1L << 30),
        new EngineBench.Result(LLAMA_NF4, GemmMath.TF32, "generate", 0.5, 128, 1L << 30),
        new EngineBench.Result(LLAMA_NF4, GemmMath.FP32, "train", 1.0, 512, 1L << 30));
    List<String> lines = PeerBench.side(ours, Map.of(
        PeerBench.key("llama2-7b", "tf32", "train"), train,
        PeerBench.key("llama2-7b", "tf32", "generate"), generate));
    assertEquals(2, lines.size(), lines.toString()); // no float32 peer record: no line
    assertEquals("{\"bench\":\"engine_vs_peer\",\"model\":\"llama-2-7b\",\"base_dtype\":\"nf4\","
        + "\"lora_rank\":16,\"mode\":\"train\",\"math\":\"tf32\",\"peer_dtype\":\"tf32\","
        + "\"same_shape\":true,\"cory_tokens_per_s\":2048.0,\"peer_tokens_per_s\":2000.0,"
        + "\"cory_over_peer\":1.024}", lines.get(0));
    assertTrue(lines.get(1).contains("\"same_shape\":false"), lines.get(1)); // 2 rows, not 4
    assertTrue(lines.get(1).contains("\"cory_over_peer\":2.560"), lines.get(1));
  }

  @Test
  void aPeerThatCannotRunIsOneLineAndTheRestGoesOn(@TempDir Path dir) throws IOException {
    List<EngineBench.Result> ours = List.of(
        new EngineBench.Result(GPT2, GemmMath.FP32, "score", 0.01, 1024, 1L << 28));
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    assertFalse(new PeerBench("python3", dir.resolve("missing.py")).compare(ours, out));
    Path script = Files.writeString(dir.resolve("peer.py"), "print('x')\n");
    assertFalse(new PeerBench(dir.resolve("no-python").toString(), script).compare(ours, out));
    String text = bytes.toString(StandardCharsets.UTF_8);
    assertTrue(text.contains("missing.py is not a file"), text);
    assertTrue(text.contains("\"error\":\"cannot start " + dir.resolve("no-python")), text);
  }

  @Test
  void aPeerProcessIsReadLineByLineAndItsFailureNamed(@TempDir Path dir) throws Exception {
    assumeTrue(new ProcessBuilder("python3", "-c", "pass").start().waitFor() == 0,
        "no python3 here");
    // prints what torch_peer.py prints for --dtype float32 (other dtypes: it fails, saying why)
    Path script = Files.writeString(dir.resolve("peer.py"), String.join("\n",
        "import json, sys",
        "a = sys.argv[1:]",
        "dtype = a[a.index('--dtype') + 1]",
        "if dtype != 'float32':",
        "    print('torch_peer: no usable CUDA device', file=sys.stderr); sys.exit(2)",
        "print('torch_peer: WARNING not json')",
        "print(json.dumps(dict(bench='score', model=a[a.index('--model') + 1], dtype=dtype,"
            + " batch=8, seq=128, tokens_per_s=512.0)))",
        ""));
    List<EngineBench.Result> ours = List.of(
        new EngineBench.Result(GPT2, GemmMath.FP32, "score", 1.0, 1024, 1L << 28),
        new EngineBench.Result(GPT2, GemmMath.TF32, "score", 1.0, 1024, 1L << 28));
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    boolean ok = new PeerBench("python3", script).compare(ours,
        new PrintStream(bytes, true, StandardCharsets.UTF_8));
    List<String> lines = bytes.toString(StandardCharsets.UTF_8).lines().toList();
    assertFalse(ok);
    assertEquals(3, lines.size(), lines.toString());
    assertTrue(lines.get(0).startsWith("{\"bench\": \"score\", \"model\": \"gpt2-small\""), lines.get(0));
    assertTrue(lines.get(1).contains("exit 2: torch_peer: no usable CUDA device"), lines.get(1));
    assertTrue(lines.get(2).contains("\"same_shape\":true,\"cory_tokens_per_s\":1024.0,"
        + "\"peer_tokens_per_s\":512.0,\"cory_over_peer\":2.000}"), lines.get(2));
  }
}
