package ai.cory.common.config;

import ai.cory.common.sampling.SamplingParams;
import java.io.Serializable;

/**
 * {@code cory.generation}: how rollouts are sampled. The generation length L of an iteration is
 * drawn uniformly from {@code [minNewTokens, maxNewTokens]} and used by both agents. The
 * next-token parameters have Hugging Face {@code generate()} meaning ({@link SamplingParams}).
 *
 * @param minNewTokens      smallest L, {@code >= 1}
 * @param maxNewTokens      largest L, {@code >= minNewTokens}
 * @param greedy            argmax instead of sampling
 * @param temperature       logits divisor, {@code > 0}
 * @param topK              0 = off
 * @param topP              1 = off
 * @param repetitionPenalty 1 = off
 * @param samplerThreads    threads choosing next tokens, {@code >= 1}
 */
public record GenerationSettings(int minNewTokens, int maxNewTokens, boolean greedy, double temperature, int topK,
    double topP, double repetitionPenalty, int samplerThreads) implements Serializable {
  private static final long serialVersionUID = 1L;

  public GenerationSettings {
    if (minNewTokens < 1 || maxNewTokens < minNewTokens) {
      throw new IllegalArgumentException("need 1 <= minNewTokens <= maxNewTokens, got " + minNewTokens + ", "
          + maxNewTokens);
    }
    if (samplerThreads < 1) {
      throw new IllegalArgumentException("samplerThreads must be >= 1, got " + samplerThreads);
    }
    new SamplingParams(greedy, temperature, topK, topP, repetitionPenalty); // validates
  }

  /** The next-token parameters. */
  public SamplingParams sampling() {
    return new SamplingParams(greedy, temperature, topK, topP, repetitionPenalty);
  }
}
