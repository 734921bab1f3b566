package ai.cory.common.model;

import ai.cory.common.model.ModelConfig.Arch;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Writes a {@link ModelConfig} as a Hugging Face {@code config.json} that transformers'
 * {@code GPT2Config} / {@code LlamaConfig} (and {@link HfConfigReader}) read back to the same
 * model: the inverse of {@link HfConfigReader}. Keys the engine does not model (dropout rates,
 * initializer range) are left out so transformers applies its own defaults.
 */
public final class HfConfigWriter {
  private static final ObjectMapper JSON = new ObjectMapper();

  private HfConfigWriter() {}

  /**
   * The {@code config.json} bytes (UTF-8, pretty-printed) of {@code cfg}.
   *
   * @param weightsType the type the weights are stored in ({@code torch_dtype}: FLOAT float32,
   *                    DOUBLE float64, HALF float16, BFLOAT16 bfloat16)
   */
  public static byte[] toJson(ModelConfig cfg, DataType weightsType) {
    ObjectNode root = JSON.createObjectNode();
    if (cfg.arch() == Arch.GPT2) {
      root.putArray("architectures").add("GPT2LMHeadModel");
      root.put("model_type", "gpt2");
      root.put("vocab_size", cfg.vocabSize());
      root.put("n_embd", cfg.hidden());
      root.put("n_layer", cfg.layers());
      root.put("n_head", cfg.heads());
      root.put("n_inner", cfg.intermediate());
      root.put("n_positions", cfg.maxPositions());
      root.put("layer_norm_epsilon", cfg.normEps());
      root.put("activation_function", "gelu_new");
    } else {
      root.putArray("architectures").add("LlamaForCausalLM");
      root.put("model_type", "llama");
      root.put("vocab_size", cfg.vocabSize());
      root.put("hidden_size", cfg.hidden());
      root.put("num_hidden_layers", cfg.layers());
      root.put("num_attention_heads", cfg.heads());
      root.put("num_key_value_heads", cfg.kvHeads());
      root.put("intermediate_size", cfg.intermediate());
      root.put("max_position_embeddings", cfg.maxPositions());
      root.put("rms_norm_eps", cfg.normEps());
      root.put("rope_theta", cfg.ropeTheta());
      root.put("hidden_act", "silu");
      root.put("attention_bias", false);
      root.put("mlp_bias", false);
    }
    root.put("tie_word_embeddings", cfg.tiedEmbeddings());
    putTokenId(root, "bos_token_id", cfg.bosTokenId());
    putTokenId(root, "eos_token_id", cfg.eosTokenId());
    root.put("torch_dtype", torchDtype(weightsType));
    try {
      return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root)
          .getBytes(StandardCharsets.UTF_8);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot serialise config.json of " + cfg, e);
    }
  }

  /** HfConfigReader reads an explicit null as "no such token" (-1). */
  private static void putTokenId(ObjectNode root, String key, int id) {
    if (id < 0) {
      root.putNull(key);
    } else {
      root.put(key, id);
    }
  }

  private static String torchDtype(DataType type) {
    return switch (type) {
      case FLOAT -> "float32";
      case DOUBLE -> "float64";
      case HALF -> "float16";
      case BFLOAT16 -> "bfloat16";
      default -> throw new IllegalArgumentException("weights are stored as floats, got " + type);
    };
  }
}
