package ai.cory.common.cuda;

import ai.cory.common.config.Compute.GemmMath;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The PyTorch peer ({@code torch_peer.py --device cuda}) on the same GPU and shapes as the
 * engine bench, then the two side by side: for every engine measurement, the peer's tokens/s
 * for the same model shape and mode in the matching precision (fp32: {@code --dtype float32},
 * tf32: {@code tf32}, bf16: {@code bfloat16}; the peer's weights are dense in that dtype, the
 * engine's 7B base is packed NF4 or bf16 with float32 activations). One peer process per model
 * shape and dtype; its own JSON lines are printed as it gives them.
 */
final class PeerBench {
  /** The peer's {@code --dtype} for each engine math. */
  static final Map<GemmMath, String> DTYPES = Map.of(GemmMath.FP32, "float32",
      GemmMath.TF32, "tf32", GemmMath.BF16, "bfloat16");
  private static final long TIMEOUT_MINUTES = 20;
  private static final ObjectMapper JSON = new ObjectMapper();

  private final String python;
  private final Path script;

  /**
   * @param python the interpreter with CUDA torch (Debian's python3-torch: /usr/bin/python3)
   * @param script torch_peer.py
   */
  PeerBench(String python, Path script) {
    this.python = python;
    this.script = script;
  }

  /** The command for one shape in one math. */
  List<String> command(EngineBench.Case c, GemmMath math) {
    List<String> cmd = new ArrayList<>(List.of(python, script.toString(), "--device", "cuda",
        "--dtype", DTYPES.get(math)));
    cmd.addAll(c.peerArgs());
    return cmd;
  }

  /**
   * Runs the peer for every shape and math the engine measured, prints its lines and then one
   * {@code engine_vs_peer} line per engine measurement it has a match for. A peer that cannot
   * run (no script, no interpreter, no CUDA torch, a failure) is one line saying why, and the
   * rest goes on; returns false when any peer run failed.
   */
  boolean compare(List<EngineBench.Result> ours, PrintStream out) {
    if (!Files.isRegularFile(script)) {
      out.println("{\"peer\":null,\"error\":\"" + GpuCheck.json(script + " is not a file")
          + "\"}");
      return false;
    }
    Map<String, JsonNode> peer = new LinkedHashMap<>();
    Map<String, Boolean> ran = new LinkedHashMap<>();
    boolean ok = true;
    for (EngineBench.Result r : ours) {
      List<String> cmd = command(r.c(), r.math());
      String key = String.join(" ", cmd);
      if (ran.containsKey(key)) {
        continue;
      }
      List<String> lines = new ArrayList<>();
      String error = run(cmd, lines);
      ran.put(key, error == null);
      for (String line : lines) {
        out.println(line);
        JsonNode rec = parse(line);
        if (rec != null && rec.has("bench") && rec.has("tokens_per_s")) {
          peer.put(key(rec.path("model").asText(), rec.path("dtype").asText(),
              rec.path("bench").asText()), rec);
        }
      }
      if (error != null) {
        out.println("{\"peer\":null,\"command\":\"" + GpuCheck.json(key) + "\",\"error\":\""
            + GpuCheck.json(error) + "\"}");
        ok = false;
      }
    }
    side(ours, peer).forEach(out::println);
    return ok;
  }

  static String key(String peerModel, String dtype, String mode) {
    return peerModel + "|" + dtype + "|" + mode;
  }

  /**
   * One line per engine measurement with a peer record of the same model, mode and precision:
   * both tokens/s and their ratio, and whether the peer ran the same batch and lengths.
   */
  static List<String> side(List<EngineBench.Result> ours, Map<String, JsonNode> peer) {
    List<String> lines = new ArrayList<>();
    for (EngineBench.Result r : ours) {
      EngineBench.Case c = r.c();
      JsonNode p = peer.get(key(c.peerModel(), DTYPES.get(r.math()), r.mode()));
      if (p == null) {
        continue;
      }
      boolean generate = r.mode().equals("generate");
      boolean same = generate
          ? p.path("batch").asInt() == c.genBatch() && p.path("prompt").asInt() == c.prompt()
              && p.path("new").asInt() == c.newTokens()
          : p.path("batch").asInt() == c.batch() && p.path("seq").asInt() == c.seq();
      double theirs = p.path("tokens_per_s").asDouble();
      lines.add(String.format(Locale.ROOT, "{\"bench\":\"engine_vs_peer\",\"model\":\"%s\","
          + "\"base_dtype\":\"%s\",\"lora_rank\":%d,\"mode\":\"%s\",\"math\":\"%s\","
          + "\"peer_dtype\":\"%s\",\"same_shape\":%b,\"cory_tokens_per_s\":%.1f,"
          + "\"peer_tokens_per_s\":%.1f,\"cory_over_peer\":%.3f}", c.model(), c.base().key(),
          c.loraRank(), r.mode(), r.math().name().toLowerCase(Locale.ROOT),
          DTYPES.get(r.math()), same, r.tokensPerSecond(), theirs,
          r.tokensPerSecond() / theirs));
    }
    return lines;
  }

  private static JsonNode parse(String line) {
    if (!line.startsWith("{")) {
      return null;
    }
    try {
      return JSON.readTree(line);
    } catch (IOException e) {
      return null;
    }
  }

  /** Runs {@code cmd}; its stdout lines into {@code lines}; null, or why it failed. */
  private static String run(List<String> cmd, List<String> lines) {
    Process p;
    try {
      p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    } catch (IOException e) {
      return "cannot start " + cmd.get(0) + ": " + e.getMessage();
    }
    Deque<String> tail = new ArrayDeque<>(); // the last lines that are not JSON: why it failed
    try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(),
        StandardCharsets.UTF_8))) {
      for (String line = r.readLine(); line != null; line = r.readLine()) {
        if (line.startsWith("{")) {
          lines.add(line);
        } else {
          tail.addLast(line);
          if (tail.size() > 3) {
            tail.removeFirst();
          }
        }
      }
      if (!p.waitFor(TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
        p.destroyForcibly();
        return "no exit after " + TIMEOUT_MINUTES + " minutes";
      }
    } catch (IOException e) {
      return "reading its output: " + e.getMessage();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      p.destroyForcibly();
      return "interrupted";
    }
    return p.exitValue() == 0 ? null
        : "exit " + p.exitValue() + (tail.isEmpty() ? "" : ": " + String.join(" | ", tail));
  }
}
