package ai.cory.common.model;

import java.util.Objects;

/**
 * Shape and hyper-parameters of a causal LM, architecture-neutral. Read from a Hugging Face
 * {@code config.json} by {@code ai.cory.common.model.HfConfigReader}; built directly for presets
 * (the GPT-2-small benchmark shape, the self-contained demo model).
 *
 * @param arch               GPT-2 or Llama wiring
 * @param vocabSize          rows of the token embedding
 * @param hidden             model width C ({@code n_embd} / {@code hidden_size})
 * @param layers             number of transformer blocks L
 * @param heads              query heads H; head size is {@code hidden / heads}
 * @param kvHeads            key/value heads (GQA); equals {@code heads} for GPT-2
 * @param intermediate       MLP width ({@code n_inner}, default 4C / {@code intermediate_size})
 * @param maxPositions       context length ({@code n_positions} / {@code max_position_embeddings})
 * @param normEps            LayerNorm / RMSNorm epsilon
 * @param ropeTheta          RoPE base (Llama only; ignored for GPT-2)
 * @param tiedEmbeddings     output head is the token embedding transposed (no lm_head tensor)
 * @param bosTokenId         beginning-of-sequence id, -1 if none
 * @param eosTokenId         end-of-sequence id, -1 if none
 */
public record ModelConfig(
    Arch arch,
    int vocabSize,
    int hidden,
    int layers,
    int heads,
    int kvHeads,
    int intermediate,
    int maxPositions,
    double normEps,
    double ropeTheta,
    boolean tiedEmbeddings,
    int bosTokenId,
    int eosTokenId) {

  /** The two supported wirings. */
  public enum Arch { GPT2, LLAMA }

  public ModelConfig {
    Objects.requireNonNull(arch, "arch");
    require(vocabSize > 0, "vocabSize must be > 0, got " + vocabSize);
    require(hidden > 0, "hidden must be > 0, got " + hidden);
    require(layers > 0, "layers must be > 0, got " + layers);
    require(heads > 0 && hidden % heads == 0,
        "hidden (" + hidden + ") must be a positive multiple of heads (" + heads + ")");
    require(kvHeads > 0 && heads % kvHeads == 0,
        "heads (" + heads + ") must be a multiple of kvHeads (" + kvHeads + ")");
    require(intermediate > 0, "intermediate must be > 0, got " + intermediate);
    require(maxPositions > 0, "maxPositions must be > 0, got " + maxPositions);
    require(normEps > 0, "normEps must be > 0, got " + normEps);
    require(arch != Arch.GPT2 || kvHeads == heads, "GPT-2 has no grouped-query attention");
  }

  /** Size of one attention head. */
  public int headDim() {
    return hidden / heads;
  }

  /** Query heads that share one key/value head. */
  public int queriesPerKv() {
    return heads / kvHeads;
  }

  /** GPT-2 small: 12 layers, 768 wide, 12 heads, vocab 50257, 1024 positions (benchmark shape). */
  public static ModelConfig gpt2Small() {
    return new ModelConfig(Arch.GPT2, 50257, 768, 12, 12, 12, 3072, 1024, 1e-5, 0, true, 50256, 50256);
  }

  /** GPT-2 large: 36 layers, 1280 wide, 20 heads, vocab 50257, 1024 positions (774M parameters). */
  public static ModelConfig gpt2Large() {
    return new ModelConfig(Arch.GPT2, 50257, 1280, 36, 20, 20, 5120, 1024, 1e-5, 0, true, 50256, 50256);
  }

  /**
   * Llama-2-7B's shape (meta-llama/Llama-2-7b-hf config.json): 32 layers, 4096 wide, 32 heads,
   * MLP 11008, vocab 32000, 4096 positions, untied head; 6.74B parameters.
   */
  public static ModelConfig llama2_7b() {
    return new ModelConfig(Arch.LLAMA, 32000, 4096, 32, 32, 32, 11008, 4096, 1e-5, 10000.0, false, 1, 2);
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException("invalid model config: " + message);
    }
  }
}
