package ai.cory.common.sampling;

/**
 * How the next token is chosen from the logits, with Hugging Face {@code generate()} meaning
 * (transformers 4.3x, the version under TRL 0.7.9). The values here are neutral: a task's
 * config sets what it needs (CORY.md section 4, IMDB reference code: sampling, temperature 1,
 * top-k off, top-p 1.0, repetition penalty 1.1).
 *
 * @param greedy            take the first index of the maximum instead of sampling
 *                          ({@code do_sample=False}); the repetition penalty still applies,
 *                          temperature / top-k / top-p do not (HF applies warpers only when
 *                          sampling)
 * @param temperature       divides the logits; finite and {@code > 0}; 1 = off
 * @param topK              keep the {@code topK} largest logits (and any tied with the k-th);
 *                          0 = off
 * @param topP              nucleus: keep the smallest top set whose mass reaches {@code topP};
 *                          in [0, 1]; 1 = off
 * @param repetitionPenalty CTRL penalty (Keskar et al. 2019, eq. 2 as implemented by HF) on
 *                          every token already in the row; finite and {@code > 0}; 1 = off
 */
public record SamplingParams(
    boolean greedy, double temperature, int topK, double topP, double repetitionPenalty) {

  public SamplingParams {
    if (!(temperature > 0) || !Double.isFinite(temperature)) {
      throw new IllegalArgumentException(
          "sampling temperature must be finite and > 0 (use greedy for argmax), got " + temperature);
    }
    if (topK < 0) {
      throw new IllegalArgumentException("sampling topK must be >= 0 (0 = off), got " + topK);
    }
    if (!(topP >= 0 && topP <= 1)) {
      throw new IllegalArgumentException("sampling topP must be in [0, 1] (1 = off), got " + topP);
    }
    if (!(repetitionPenalty > 0) || !Double.isFinite(repetitionPenalty)) {
      throw new IllegalArgumentException(
          "sampling repetitionPenalty must be finite and > 0 (1 = off), got " + repetitionPenalty);
    }
  }

  /** Plain multinomial sampling from the softmax: temperature 1, no top-k/top-p, no penalty. */
  public static SamplingParams defaults() {
    return new SamplingParams(false, 1.0, 0, 1.0, 1.0);
  }

  /** Argmax decoding without repetition penalty. */
  public static SamplingParams greedyDecoding() {
    return new SamplingParams(true, 1.0, 0, 1.0, 1.0);
  }

  /** Same parameters with another repetition penalty. */
  public SamplingParams withRepetitionPenalty(double penalty) {
    return new SamplingParams(greedy, temperature, topK, topP, penalty);
  }

  /** True when the repetition penalty changes anything. */
  public boolean penalizes() {
    return repetitionPenalty != 1.0;
  }
}
