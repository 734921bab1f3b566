package ai.cory.common.model;


import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.io.LocalFileSource;
import ai.cory.common.model.ModelConfig.Arch;
import ai.cory.common.testing.SharedAssets;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HfConfigReaderTest {
  @TempDir Path tmp;

  private static final String LLAMA = """
      {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 32000,
       "hidden_size": 256, "intermediate_size": 688, "num_hidden_layers": 3,
       "num_attention_heads": 8, "max_position_embeddings": 1024 %s}""";
  private static final String GPT2 = """
      {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": 50257,
       "n_embd": 96, "n_layer": 2, "n_head": 4, "n_positions": 64 %s}""";

  private LocalFileSource config(String json) throws IOException {
    Path dir = Files.createTempDirectory(tmp, "cfg");
    Files.writeString(dir.resolve("config.json"), json);
    return new LocalFileSource(dir);
  }

  @Test
  void stories260K() throws IOException {
    ModelConfig c = HfConfigReader.read(new LocalFileSource(SharedAssets.model("stories260K")));
    assertEquals(new ModelConfig(Arch.LLAMA, 512, 64, 5, 8, 4, 172, 512, 1e-5, 10000.0, true, 1, 2), c);
    assertEquals(8, c.headDim());
    assertEquals(2, c.queriesPerKv());
  }

  @Test
  void tinyGpt2() throws IOException {
    ModelConfig c = HfConfigReader.read(new LocalFileSource(SharedAssets.model("tiny-gpt2")));
    assertEquals(new ModelConfig(Arch.GPT2, 50257, 64, 2, 4, 4, 256, 128, 1e-5, 0.0, true, 50256, 50256), c);
  }

  @Test
  void defaultsFollowTransformers() throws IOException {
    ModelConfig llama = HfConfigReader.read(config(LLAMA.formatted("")));
    assertFalse(llama.tiedEmbeddings(), "LlamaConfig.tie_word_embeddings defaults to false");
    assertEquals(8, llama.kvHeads(), "num_key_value_heads defaults to num_attention_heads");
    assertEquals(1e-6, llama.normEps());
    assertEquals(10000.0, llama.ropeTheta());
    assertEquals(1, llama.bosTokenId());
    assertEquals(2, llama.eosTokenId());
    ModelConfig gpt2 = HfConfigReader.read(config(GPT2.formatted(", \"n_inner\": null")));
    assertTrue(gpt2.tiedEmbeddings());
    assertEquals(384, gpt2.intermediate(), "n_inner null -> 4 * n_embd");
    assertEquals(1e-5, gpt2.normEps());
    ModelConfig eosList = HfConfigReader.read(config(LLAMA.formatted(
        ", \"eos_token_id\": [128001, 128009], \"bos_token_id\": 128000, \"rope_theta\": 500000.0,"
            + " \"num_key_value_heads\": 2, \"tie_word_embeddings\": true")));
    assertEquals(128001, eosList.eosTokenId(), "first of an eos list");
    assertEquals(128000, eosList.bosTokenId());
    assertEquals(500000.0, eosList.ropeTheta());
    assertEquals(2, eosList.kvHeads());
    assertTrue(eosList.tiedEmbeddings());
    assertEquals(-1, HfConfigReader.read(config(GPT2.formatted(", \"bos_token_id\": null"))).bosTokenId());
    assertEquals(1536, HfConfigReader.read(config(GPT2.formatted(
        ", \"activation_function\": \"gelu_pytorch_tanh\", \"n_inner\": 1536"))).intermediate());
  }

  @Test
  void missingConfigNamesTheFile() {
    FileNotFoundException e = assertThrows(FileNotFoundException.class,
        () -> HfConfigReader.read(new LocalFileSource(tmp)));
    assertTrue(e.getMessage().contains(tmp.resolve("config.json").toString()), e.getMessage());
  }

  @Test
  void badConfigsNameFileKeyAndValue() throws IOException {
    expectError(config("{\"architectures\": [\"MistralForCausalLM\"], \"model_type\": \"mistral\"}"),
        "'MistralForCausalLM'", "GPT2LMHeadModel", "LlamaForCausalLM");
    expectError(config("{\"model_type\": \"bert\"}"), "model_type", "'bert'", "supported");
    expectError(config("{\"vocab_size\": 5}"), "neither 'architectures' nor 'model_type'");
    expectError(config("{\"architectures\": [\"GPT2LMHeadModel\"], \"model_type\": \"llama\"}"),
        "contradicts");
    expectError(config(LLAMA.formatted("").replace("\"hidden_size\": 256,", "")),
        "'hidden_size'", "missing required key");
    expectError(config(GPT2.formatted("").replace("\"n_head\": 4,", "")), "'n_head'", "missing");
    expectError(config(LLAMA.formatted(", \"rope_scaling\": {\"type\": \"linear\", \"factor\": 2.0}")),
        "rope_scaling", "unsupported");
    expectError(config(LLAMA.formatted(", \"attention_bias\": true")), "attention_bias", "unsupported");
    expectError(config(LLAMA.formatted(", \"mlp_bias\": true")), "mlp_bias", "unsupported");
    expectError(config(LLAMA.formatted(", \"hidden_act\": \"gelu\"")), "hidden_act", "'gelu'");
    expectError(config(GPT2.formatted(", \"activation_function\": \"relu\"")),
        "activation_function", "'relu'", "gelu_new");
    expectError(config(GPT2.formatted(", \"scale_attn_by_inverse_layer_idx\": true")),
        "scale_attn_by_inverse_layer_idx");
    expectError(config(LLAMA.formatted(", \"num_key_value_heads\": 3")), "kvHeads");
    expectError(config(LLAMA.formatted(", \"num_attention_heads\": 8.5")), "num_attention_heads", "integer");
    LocalFileSource broken = config("{\"architectures\": [");
    IOException e = assertThrows(IOException.class, () -> HfConfigReader.read(broken));
    assertTrue(e.getMessage().contains(broken.describe("config.json")) && e.getMessage().contains("malformed"),
        e.getMessage());
  }

  /** Sizes that used to divide by zero, overflow or crash the JVM fail on reading, naming the key. */
  @Test
  void zeroAndOverflowingSizesAreRefusedNamingTheKey() throws IOException {
    expectError(config(LLAMA.formatted("").replace("\"num_attention_heads\": 8", "\"num_attention_heads\": 0")),
        "num_attention_heads", "must be > 0");
    expectError(config(GPT2.formatted("").replace("\"n_head\": 4", "\"n_head\": 0")), "n_head", "must be > 0");
    expectError(config(GPT2.formatted("").replace("\"vocab_size\": 50257", "\"vocab_size\": -1")), "vocab_size");
    expectError(config(GPT2.formatted("").replace("\"n_embd\": 96", "\"n_embd\": 1073741824")
        .replace("\"n_head\": 4", "\"n_head\": 1")), "n_embd", "overflows");
  }

  private static void expectError(LocalFileSource dir, String... fragments) {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> HfConfigReader.read(dir));
    assertTrue(e.getMessage().contains(dir.describe("config.json")), e.getMessage());
    for (String f : fragments) {
      assertTrue(e.getMessage().contains(f), "'" + f + "' not in: " + e.getMessage());
    }
  }
}
