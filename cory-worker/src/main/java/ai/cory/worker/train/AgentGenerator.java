package ai.cory.worker.train;

import ai.cory.common.model.CausalLm;
import ai.cory.common.sampling.SamplingParams;
import ai.cory.worker.rollout.Generator;
import java.util.List;

/**
 * The {@link Generator} of one agent's model, sized to what the iterations need: the KV cache
 * holds {@code rows x (longest prompt + new tokens)}, so a generator sized for the model's whole
 * context would waste memory on large models. A longer request replaces the generator by one
 * with room for it (rounded up to {@value #ROUND_TOKENS} tokens, capped at the context).
 */
final class AgentGenerator implements AutoCloseable {
  static final int ROUND_TOKENS = 64;

  private final CausalLm model;
  private final int maxBatch;
  private final SamplingParams params;
  private final int samplerThreads;
  private Generator generator;
  private int capacityTokens;

  AgentGenerator(CausalLm model, int maxBatch, SamplingParams params, int samplerThreads) {
    this.model = model;
    this.maxBatch = maxBatch;
    this.params = params;
    this.samplerThreads = samplerThreads;
  }

  /** See {@link Generator#generate(List, int, long, long, int[])}. */
  Generator.Rollout generate(List<int[]> prompts, int maxNewTokens, long seed, long firstGlobalRow, int[] stopIds) {
    int longest = 0;
    for (int[] p : prompts) {
      longest = Math.max(longest, p.length);
    }
    int need = longest + maxNewTokens;
    if (generator == null || need > capacityTokens) {
      close();
      int context = model.config().maxPositions();
      capacityTokens = Math.min(context, ((need + ROUND_TOKENS - 1) / ROUND_TOKENS) * ROUND_TOKENS);
      generator = new Generator(model, maxBatch, Math.max(2, capacityTokens), params, samplerThreads);
    }
    return generator.generate(prompts, maxNewTokens, seed, firstGlobalRow, stopIds);
  }

  @Override
  public void close() {
    if (generator != null) {
      generator.close();
      generator = null;
    }
  }
}
