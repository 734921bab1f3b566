package ai.cory.worker.rollout;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.io.LocalFileSource;
import ai.cory.common.cuda.EmulatedGpu;
import ai.cory.common.model.Accelerator;
import ai.cory.common.model.CausalLm;
import ai.cory.common.model.ModelConfig;
import ai.cory.common.sampling.SamplingParams;
import ai.cory.common.testing.SharedAssets;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

class GeneratorTest {

  /**
   * Greedy KV-cache decoding reproduces llama2.c's greedy continuations of stories260K (the
   * golden ids of a float64 port of run.c, checked against run.c itself), each prompt alone and
   * all four left-padded into one batch.
   */
  @Test
  void greedyMatchesLlama2cGoldenAloneAndBatched() throws Exception {
    greedyMatchesGolden(false);
  }

  /**
   * The same on a device (the emulated one): the cache, the forward and the token choice
   * ({@code sample_tokens}) run there and only the chosen ids come back.
   */
  @Test
  void onADeviceGreedyMatchesLlama2cGoldenAloneAndBatched() throws Exception {
    greedyMatchesGolden(true);
  }

  private static void greedyMatchesGolden(boolean onDevice) throws Exception {
    JsonNode golden = SharedAssets.golden("../assets/models/stories260K/llama2c/golden_stories260K.json");
    CausalLm model = CausalLm.load(new LocalFileSource(SharedAssets.model("stories260K")),
        DataType.FLOAT, 0);
    Accelerator gpu = onDevice ? EmulatedGpu.open(128L << 20) : null;
    if (onDevice) {
      model.placeOn(gpu);
    }
    List<int[]> prompts = new ArrayList<>();
    List<int[]> expected = new ArrayList<>();
    for (JsonNode c : golden.get("cases")) {
      int[] prompt = ints(c.get("prompt_ids"));
      int[] all = ints(c.get("greedy_ids"));
      prompts.add(prompt);
      expected.add(Arrays.copyOfRange(all, prompt.length, all.length));
    }
    int maxNew = expected.stream().mapToInt(e -> e.length).max().orElseThrow();
    int maxPrompt = prompts.stream().mapToInt(p -> p.length).max().orElseThrow();
    try (Generator gen = new Generator(model, prompts.size(), maxPrompt + maxNew,
        SamplingParams.greedyDecoding(), 2)) {
      for (int i = 0; i < prompts.size(); i++) {
        Generator.Rollout r = gen.generate(List.of(prompts.get(i)), expected.get(i).length, 0, 0,
            new int[0]);
        assertArrayEquals(expected.get(i), r.responses()[0], "case " + i);
      }
      Generator.Rollout batched = gen.generate(prompts, maxNew, 0, 0, new int[0]);
      for (int i = 0; i < prompts.size(); i++) {
        int[] got = Arrays.copyOf(batched.responses()[i], expected.get(i).length);
        assertArrayEquals(expected.get(i), got, "batched case " + i);
      }
    }
    if (onDevice) { // every generator gives its cache back: memory stays flat across rollouts
      long before = gpu.usedBytes();
      for (int k = 0; k < 3; k++) {
        try (Generator gen = new Generator(model, prompts.size(), maxPrompt + maxNew,
            SamplingParams.greedyDecoding(), 1)) {
          gen.generate(prompts, 2, 0, 0, new int[0]);
        }
        assertEquals(before, gpu.usedBytes(), "device memory after generator " + k);
      }
    }
  }

  /** Rows stop at their first stop token, which is kept; other rows go on. */
  @Test
  void rowsStopAtTheirFirstStopToken() {
    CausalLm model = CausalLm.random(tiny(), DataType.FLOAT, 7);
    List<int[]> prompts = List.of(new int[] {1, 2, 3}, new int[] {4}, new int[] {5, 6});
    try (Generator gen = new Generator(model, 3, 40, SamplingParams.defaults(), 1)) {
      Generator.Rollout free = gen.generate(prompts, 30, 11, 0, new int[0]);
      // Use the token row 0 drew at step 2 as the stop id: row 0 must end right there.
      int stop = free.responses()[0][2];
      Generator.Rollout cut = gen.generate(prompts, 30, 11, 0, new int[] {stop});
      for (int b = 0; b < 3; b++) {
        int[] f = free.responses()[b];
        int first = -1;
        for (int t = 0; t < f.length; t++) {
          if (f[t] == stop) {
            first = t;
            break;
          }
        }
        int expectedLen = first < 0 ? 30 : first + 1;
        assertEquals(expectedLen, cut.lengths()[b], "row " + b);
        assertArrayEquals(Arrays.copyOf(f, expectedLen), cut.responses()[b], "row " + b);
      }
      assertTrue(cut.lengths()[0] <= 3);
    }
  }

  /**
   * A row's draws depend on (seed, global row, step) only: generating a batch in two shards with
   * the right global offsets gives the same tokens as the whole batch.
   */
  @Test
  void shardedGenerationEqualsWholeBatch() {
    CausalLm model = CausalLm.random(tiny(), DataType.FLOAT, 3);
    SamplingParams params = new SamplingParams(false, 0.9, 20, 0.95, 1.1);
    List<int[]> prompts = List.of(new int[] {1, 2, 3, 4}, new int[] {9}, new int[] {7, 7},
        new int[] {3, 1, 4, 1, 5});
    try (Generator whole = new Generator(model, 4, 32, params, 2);
        Generator shard = new Generator(model, 2, 32, params, 1)) {
      Generator.Rollout all = whole.generate(prompts, 20, 42, 100, new int[0]);
      Generator.Rollout first = shard.generate(prompts.subList(0, 2), 20, 42, 100, new int[0]);
      Generator.Rollout second = shard.generate(prompts.subList(2, 4), 20, 42, 102, new int[0]);
      for (int b = 0; b < 2; b++) {
        assertArrayEquals(all.responses()[b], first.responses()[b], "row " + b);
        assertArrayEquals(all.responses()[b + 2], second.responses()[b], "row " + (b + 2));
      }
    }
  }

  @Test
  void rejectsPromptsThatDoNotFit() {
    CausalLm model = CausalLm.random(tiny(), DataType.FLOAT, 3);
    try (Generator gen = new Generator(model, 2, 16, SamplingParams.defaults(), 1)) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> gen.generate(List.of(new int[12]), 8, 0, 0, new int[0]));
      assertTrue(e.getMessage().contains("exceeds"), e.getMessage());
      assertThrows(IllegalArgumentException.class,
          () -> gen.generate(List.of(new int[0]), 8, 0, 0, new int[0]));
    }
    assertThrows(IllegalArgumentException.class,
        () -> new Generator(model, 1, 10_000, SamplingParams.defaults(), 1));
  }

  private static ModelConfig tiny() {
    return new ModelConfig(ModelConfig.Arch.LLAMA, 50, 16, 2, 4, 2, 24, 64, 1e-5, 10000, false,
        1, 2);
  }

  private static int[] ints(JsonNode arr) {
    int[] out = new int[arr.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = arr.get(i).asInt();
    }
    return out;
  }
}
