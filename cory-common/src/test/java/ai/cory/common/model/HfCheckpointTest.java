package ai.cory.common.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.io.LocalFileSource;
import ai.cory.common.io.SafeTensorsDtype;
import ai.cory.common.io.SafeTensorsWriter;
import ai.cory.common.testing.SharedAssets;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Loading Hugging Face directories: name-prefix variants, ignored buffers, untied heads, the
 * value head (fresh when absent, loaded when present) and clear errors for missing or foreign
 * tensors. Checkpoints are re-written from the shared models with the variant under test.
 */
class HfCheckpointTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir
  Path tmp;

  @Test
  void gpt2WithTransformerPrefixAndMaskBuffersLoadsTheSameWeights() throws IOException {
    CausalLm ref = Golden.model("tiny-gpt2");
    Map<String, INDArray> tensors = lmTensors(ref, "transformer.", "");
    tensors.put("transformer.h.0.attn.bias", Nd4j.ones(DataType.FLOAT, 1, 1, 4, 4));
    tensors.put("transformer.h.0.attn.masked_bias", Nd4j.scalar(-1e4f).reshape(1));
    Path dir = write("gpt2-prefixed", "tiny-gpt2", tensors, cfg -> { });
    CausalLm lm = HfCheckpoint.load(new LocalFileSource(dir), DataType.FLOAT, 0);
    assertEquals(ref.params().flat(), lm.params().flat());
  }

  @Test
  void llamaUntiedWithoutModelPrefixUsesItsLmHead() throws IOException {
    CausalLm tied = Golden.model("stories260K");
    Map<String, INDArray> tensors = lmTensors(tied, "", "model.");
    INDArray head = tied.params().get("model.embed_tokens.weight").mul(0.5);
    tensors.put("lm_head.weight", head);
    Path dir = write("llama-untied", "stories260K", tensors,
        cfg -> cfg.put("tie_word_embeddings", false));
    CausalLm lm = HfCheckpoint.load(new LocalFileSource(dir), DataType.FLOAT, 0);
    assertTrue(!lm.config().tiedEmbeddings());
    assertEquals(head, lm.params().get("lm_head.weight"));
    // Logits of the untied model with head = E / 2 are half the tied model's logits.
    int[][] ids = {{1, 403, 407, 261}};
    Workspace ws = lm.newWorkspace(1, 4, false, true);
    INDArray halfLogits = lm.forward(ws, TokenBatch.of(ids), ForwardOptions.allLogits(4)).vocab()
        .dup();
    INDArray logits = tied.forward(tied.newWorkspace(1, 4, false, true), TokenBatch.of(ids),
        ForwardOptions.allLogits(4)).vocab();
    assertTrue(halfLogits.equalsWithEps(logits.mul(0.5), 1e-5));
  }

  @Test
  void untiedWithoutLmHeadIsAnError() throws IOException {
    Path dir = write("llama-no-head", "stories260K", lmTensors(Golden.model("stories260K"), "",
        ""), cfg -> cfg.put("tie_word_embeddings", false));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> HfCheckpoint.load(new LocalFileSource(dir), DataType.FLOAT, 0));
    assertTrue(e.getMessage().contains("lm_head.weight"), e.getMessage());
  }

  @Test
  void missingAndForeignTensorsAreNamed() throws IOException {
    Map<String, INDArray> missing = lmTensors(Golden.model("tiny-gpt2"), "", "");
    missing.remove("h.1.mlp.c_fc.bias");
    Path dir = write("gpt2-missing", "tiny-gpt2", missing, cfg -> { });
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> HfCheckpoint.load(new LocalFileSource(dir), DataType.FLOAT, 0));
    assertTrue(e.getMessage().contains("h.1.mlp.c_fc.bias"), e.getMessage());

    Map<String, INDArray> extra = lmTensors(Golden.model("tiny-gpt2"), "", "");
    extra.put("h.0.attn.q_norm.weight", Nd4j.ones(DataType.FLOAT, 64));
    Path dir2 = write("gpt2-extra", "tiny-gpt2", extra, cfg -> { });
    IllegalArgumentException e2 = assertThrows(IllegalArgumentException.class,
        () -> HfCheckpoint.load(new LocalFileSource(dir2), DataType.FLOAT, 0));
    assertTrue(e2.getMessage().contains("h.0.attn.q_norm.weight"), e2.getMessage());
  }

  @Test
  void valueHeadIsSeededWhenAbsentAndLoadedWhenPresent() throws IOException {
    LocalFileSource src = new LocalFileSource(SharedAssets.model("tiny-gpt2"));
    CausalLm a = HfCheckpoint.load(src, DataType.FLOAT, 5);
    CausalLm b = HfCheckpoint.load(src, DataType.FLOAT, 5);
    CausalLm c = HfCheckpoint.load(src, DataType.DOUBLE, 6);
    INDArray wa = a.params().get(ParamLayout.VALUE_WEIGHT);
    assertEquals(wa, b.params().get(ParamLayout.VALUE_WEIGHT));
    assertNotEquals(wa.castTo(DataType.DOUBLE), c.params().get(ParamLayout.VALUE_WEIGHT));
    double bound = 1 / Math.sqrt(64);
    assertTrue(wa.amaxNumber().doubleValue() <= bound && wa.amaxNumber().doubleValue() > 0);

    Map<String, INDArray> tensors = lmTensors(a, "", "");
    float[] values = new float[64];
    for (int i = 0; i < 64; i++) {
      values[i] = (i - 32) / 32f;
    }
    INDArray vw = Nd4j.createFromArray(new float[][] {values});
    tensors.put(ParamLayout.VALUE_WEIGHT, vw);
    tensors.put(ParamLayout.VALUE_BIAS, Nd4j.createFromArray(0.25f));
    Path dir = write("gpt2-vhead", "tiny-gpt2", tensors, cfg -> { });
    CausalLm d = HfCheckpoint.load(new LocalFileSource(dir), DataType.FLOAT, 5);
    assertEquals(vw, d.params().get(ParamLayout.VALUE_WEIGHT));
    assertEquals(0.25, d.params().get(ParamLayout.VALUE_BIAS).getDouble(0));
  }

  /** The language-model tensors of {@code lm}, renamed with a prefix variant. */
  private static Map<String, INDArray> lmTensors(CausalLm lm, String addPrefix,
      String dropPrefix) {
    Map<String, INDArray> out = new LinkedHashMap<>();
    for (String name : lm.params().names()) {
      if (name.startsWith("v_head.")) {
        continue;
      }
      String stored = name.startsWith(dropPrefix) ? name.substring(dropPrefix.length()) : name;
      out.put(addPrefix + stored, lm.params().get(name).dup());
    }
    return out;
  }

  private Path write(String name, String model, Map<String, INDArray> tensors,
      java.util.function.Consumer<ObjectNode> editConfig) throws IOException {
    Path dir = Files.createDirectories(tmp.resolve(name));
    ObjectNode cfg = (ObjectNode) JSON.readTree(
        SharedAssets.model(model).resolve("config.json").toFile());
    editConfig.accept(cfg);
    JSON.writeValue(dir.resolve("config.json").toFile(), cfg);
    SafeTensorsWriter.write(dir.resolve("model.safetensors"), tensors, SafeTensorsDtype.F32);
    return dir;
  }

  /**
   * A config.json asking for more memory than the machine has ({@code vocab_size: 2147483647}
   * used to crash the JVM in the native allocation) fails before anything is allocated.
   */
  @Test
  void aModelLargerThanTheMachineIsRefusedBeforeAllocating(@TempDir Path dir) throws IOException {
    Files.writeString(dir.resolve("config.json"), """
        {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": 2147483647,
         "n_embd": 64, "n_layer": 1, "n_head": 4, "n_positions": 32}""");
    SafeTensorsWriter.write(dir.resolve("model.safetensors"),
        Map.of("wte.weight", Nd4j.zeros(DataType.FLOAT, 1, 1)), SafeTensorsDtype.F32); // (1, 1)
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> HfCheckpoint.load(new LocalFileSource(dir), DataType.FLOAT, 0));
    assertTrue(e.getMessage().contains("GiB") && e.getMessage().contains("memory of this machine"), e.getMessage());

    // hidden_size = intermediate_size = 2^30 used to end in a negative shape naming nothing
    Files.writeString(dir.resolve("config.json"), """
        {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 32,
         "hidden_size": 1073741824, "intermediate_size": 1073741824, "num_hidden_layers": 1,
         "num_attention_heads": 8, "max_position_embeddings": 16}""");
    IllegalArgumentException wide = assertThrows(IllegalArgumentException.class,
        () -> HfCheckpoint.load(new LocalFileSource(dir), DataType.FLOAT, 0));
    assertTrue(wide.getMessage().contains("GiB") && wide.getMessage().contains("LLAMA"), wide.getMessage());
  }
}
