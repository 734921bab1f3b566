package ai.cory.common.model;

import ai.cory.common.io.FileSource;
import ai.cory.common.model.ModelConfig.Arch;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Map;

/**
 * Reads a Hugging Face {@code config.json} into a {@link ModelConfig}. Supported: {@code
 * GPT2LMHeadModel} ({@code model_type} "gpt2") and {@code LlamaForCausalLM} ("llama"). Shape keys
 * are required; the others default as in transformers' {@code GPT2Config} / {@code LlamaConfig}
 * (e.g. {@code tie_word_embeddings} true for GPT-2 but false for Llama). Options that change the
 * network in ways the engine does not implement (RoPE scaling, attention/MLP biases in Llama,
 * other activations) are refused with an error rather than silently ignored.
 */
public final class HfConfigReader {
  /** Name of the file read in the model directory. */
  public static final String CONFIG_FILE = "config.json";

  private static final String SUPPORTED =
      "GPT2LMHeadModel (model_type gpt2), LlamaForCausalLM (model_type llama)";
  private static final Map<String, Arch> BY_ARCHITECTURE =
      Map.of("GPT2LMHeadModel", Arch.GPT2, "LlamaForCausalLM", Arch.LLAMA);
  private static final Map<String, Arch> BY_MODEL_TYPE = Map.of("gpt2", Arch.GPT2, "llama", Arch.LLAMA);
  private static final List<String> GPT2_ACTIVATIONS = List.of("gelu_new", "gelu_pytorch_tanh");

  private HfConfigReader() {}

  /**
   * Parses {@code dir/config.json}.
   *
   * @throws FileNotFoundException    when config.json is absent (naming its location)
   * @throws IllegalArgumentException for an unsupported architecture or option, a missing or
   *                                  mistyped key (naming the file and the key)
   */
  public static ModelConfig read(FileSource dir) throws IOException {
    String where = dir.describe(CONFIG_FILE);
    if (!dir.exists(CONFIG_FILE)) {
      throw new FileNotFoundException("missing model config " + where);
    }
    JsonNode root;
    try (InputStream in = dir.open(CONFIG_FILE, 0)) {
      root = new ObjectMapper().readTree(in);
    } catch (JsonProcessingException e) {
      throw new IOException(where + ": malformed JSON: " + e.getOriginalMessage(), e);
    }
    if (root == null || !root.isObject()) {
      throw new IOException(where + ": expected a JSON object");
    }
    Keys keys = new Keys(root, where);
    Arch arch = architecture(keys);
    try {
      return arch == Arch.GPT2 ? gpt2(keys) : llama(keys);
    } catch (IllegalArgumentException e) {
      if (e.getMessage() != null && e.getMessage().startsWith(where)) {
        throw e;
      }
      throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
    }
  }

  private static Arch architecture(Keys keys) {
    JsonNode architectures = keys.root.get("architectures");
    String modelType = keys.text("model_type", null);
    Arch fromList = null;
    if (architectures != null && !architectures.isNull()) {
      if (!architectures.isArray() || architectures.size() == 0) {
        throw keys.error("architectures", "must be a non-empty list, got " + architectures);
      }
      String name = architectures.get(0).asText();
      fromList = BY_ARCHITECTURE.get(name);
      if (fromList == null) {
        throw keys.error("architectures", "unsupported architecture '" + name + "'; supported: "
            + SUPPORTED);
      }
    }
    Arch fromType = modelType == null ? null : BY_MODEL_TYPE.get(modelType);
    if (modelType != null && fromType == null) {
      throw keys.error("model_type", "unsupported model_type '" + modelType + "'; supported: "
          + SUPPORTED);
    }
    if (fromList == null && fromType == null) {
      throw keys.error("architectures", "neither 'architectures' nor 'model_type' is set; "
          + "supported: " + SUPPORTED);
    }
    if (fromList != null && fromType != null && fromList != fromType) {
      throw keys.error("model_type", "model_type '" + modelType + "' contradicts architectures "
          + architectures);
    }
    return fromList != null ? fromList : fromType;
  }

  private static ModelConfig gpt2(Keys k) {
    String activation = k.text("activation_function", "gelu_new");
    if (!GPT2_ACTIVATIONS.contains(activation)) {
      throw k.error("activation_function", "unsupported activation '" + activation
          + "'; supported: " + GPT2_ACTIVATIONS);
    }
    k.refuseTrue("scale_attn_by_inverse_layer_idx");
    k.refuseTrue("add_cross_attention");
    if (!k.bool("scale_attn_weights", true)) {
      throw k.error("scale_attn_weights", "false is unsupported (scores are always divided by "
          + "sqrt(head_dim))");
    }
    int hidden = k.positiveInt("n_embd");
    int heads = k.positiveInt("n_head");
    if (4L * hidden > Integer.MAX_VALUE && k.present("n_inner") == null) {
      throw k.error("n_embd", hidden + " is too large: the default n_inner = 4 * n_embd overflows");
    }
    return new ModelConfig(Arch.GPT2, k.positiveInt("vocab_size"), hidden, k.positiveInt("n_layer"),
        heads, heads, k.optionalInt("n_inner", 4 * hidden), k.positiveInt("n_positions"),
        k.number("layer_norm_epsilon", 1e-5), 0.0, k.bool("tie_word_embeddings", true),
        k.tokenId("bos_token_id", 50256), k.tokenId("eos_token_id", 50256));
  }

  private static ModelConfig llama(Keys k) {
    String activation = k.text("hidden_act", "silu");
    if (!activation.equals("silu")) {
      throw k.error("hidden_act", "unsupported activation '" + activation + "'; supported: silu");
    }
    JsonNode ropeScaling = k.root.get("rope_scaling");
    if (ropeScaling != null && !ropeScaling.isNull()) {
      throw k.error("rope_scaling", "RoPE scaling is unsupported, got " + ropeScaling);
    }
    k.refuseTrue("attention_bias");
    k.refuseTrue("mlp_bias");
    int hidden = k.positiveInt("hidden_size");
    int heads = k.positiveInt("num_attention_heads");
    int headDim = k.optionalInt("head_dim", hidden / heads);
    if (headDim * heads != hidden) {
      throw k.error("head_dim", "head_dim " + headDim + " * num_attention_heads " + heads
          + " != hidden_size " + hidden + " is unsupported");
    }
    return new ModelConfig(Arch.LLAMA, k.positiveInt("vocab_size"), hidden,
        k.positiveInt("num_hidden_layers"), heads, k.optionalInt("num_key_value_heads", heads),
        k.positiveInt("intermediate_size"), k.positiveInt("max_position_embeddings"),
        k.number("rms_norm_eps", 1e-6), k.number("rope_theta", 10000.0),
        k.bool("tie_word_embeddings", false), k.tokenId("bos_token_id", 1),
        k.tokenId("eos_token_id", 2));
  }

  /** Typed access to the keys of one config file with errors naming file and key. */
  private record Keys(JsonNode root, String where) {
    IllegalArgumentException error(String key, String message) {
      return new IllegalArgumentException(where + ": key '" + key + "': " + message);
    }

    private JsonNode present(String key) {
      JsonNode v = root.get(key);
      return v == null || v.isNull() ? null : v;
    }

    int requiredInt(String key) {
      if (present(key) == null) {
        throw error(key, "missing required key");
      }
      return optionalInt(key, 0);
    }

    /** A required integer {@code > 0} (sizes and counts: a zero would divide by zero later). */
    int positiveInt(String key) {
      int v = requiredInt(key);
      if (v <= 0) {
        throw error(key, "must be > 0, got " + v);
      }
      return v;
    }

    int optionalInt(String key, int fallback) {
      JsonNode v = present(key);
      if (v == null) {
        return fallback;
      }
      if (!v.isIntegralNumber() || !v.canConvertToInt()) {
        throw error(key, "must be an integer, got " + v);
      }
      return v.intValue();
    }

    double number(String key, double fallback) {
      JsonNode v = present(key);
      if (v != null && !v.isNumber()) {
        throw error(key, "must be a number, got " + v);
      }
      return v == null ? fallback : v.doubleValue();
    }

    boolean bool(String key, boolean fallback) {
      JsonNode v = present(key);
      if (v != null && !v.isBoolean()) {
        throw error(key, "must be true or false, got " + v);
      }
      return v == null ? fallback : v.booleanValue();
    }

    String text(String key, String fallback) {
      JsonNode v = present(key);
      if (v != null && !v.isTextual()) {
        throw error(key, "must be a string, got " + v);
      }
      return v == null ? fallback : v.textValue();
    }

    void refuseTrue(String key) {
      if (bool(key, false)) {
        throw error(key, "true is unsupported");
      }
    }

    /** A token id; a list (several EOS ids in newer configs) gives its first entry; absent gives fallback. */
    int tokenId(String key, int fallback) {
      if (!root.has(key)) {
        return fallback;
      }
      JsonNode v = root.get(key);
      if (v.isNull()) {
        return -1;
      }
      JsonNode first = v.isArray() && v.size() > 0 ? v.get(0) : v;
      if (!first.isIntegralNumber() || !first.canConvertToInt() || first.intValue() < 0) {
        throw error(key, "must be a non-negative integer or a list of them, got " + v);
      }
      return first.intValue();
    }
  }
}
