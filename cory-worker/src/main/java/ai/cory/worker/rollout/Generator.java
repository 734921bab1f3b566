package ai.cory.worker.rollout;

import ai.cory.common.model.CausalLm;
import ai.cory.common.model.KvCache;
import ai.cory.common.sampling.ParallelSampler;
import ai.cory.common.sampling.Sampler;
import ai.cory.common.sampling.SamplingBatch;
import ai.cory.common.sampling.SamplingParams;
import ai.cory.common.sampling.TokenHistory;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Batched generation with a KV cache (CORY.md section 4): prompts are left-padded into one
 * batch, prefilled once, then every step feeds one token per row through the cache and asks the
 * {@link Sampler} for the next one. A row stops at its first stop token (kept in the response);
 * the loop ends when every row has stopped or {@code maxNewTokens} were drawn.
 *
 * <p>The KV cache, the sampler scratch and the per-row histories are allocated once per batch
 * size and reused by every call, so a long rollout does not allocate per token. The repetition
 * penalty sees each row's real tokens (prompt and response), not its left padding.
 *
 * <p>Reproducibility: a row's draws depend only on (seed, global row index, step) (see
 * {@link ai.cory.common.sampling.CounterRng}), so any split of a batch across workers samples the
 * same tokens as one worker with the whole batch.
 *
 * <p>Not thread-safe: one generator per model replica and thread.
 */
public final class Generator implements AutoCloseable {
  private final CausalLm model;
  private final int maxBatch;
  private final int maxTotalTokens;
  private final ParallelSampler sampler;
  private final SamplingParams params;
  private KvCache cache; // sized for the last batch size seen

  /**
   * Result of one {@link #generate} call.
   *
   * @param responses (B) each row's new tokens, cut right after its first stop token (kept)
   * @param lengths   (B) {@code responses[b].length}
   */
  public record Rollout(int[][] responses, int[] lengths) {}

  /**
   * @param model          the policy to sample from
   * @param maxBatch       most rows per call
   * @param maxTotalTokens most columns per call: longest prompt plus {@code maxNewTokens}
   * @param params         next-token choice
   * @param samplerThreads threads for the per-row sampling work (1 = the calling thread only)
   */
  public Generator(CausalLm model, int maxBatch, int maxTotalTokens, SamplingParams params,
      int samplerThreads) {
    this.model = Objects.requireNonNull(model, "model");
    if (maxBatch < 1) {
      throw new IllegalArgumentException("maxBatch must be >= 1, got " + maxBatch);
    }
    int context = model.config().maxPositions();
    if (maxTotalTokens < 2 || maxTotalTokens > context) {
      throw new IllegalArgumentException("maxTotalTokens must be in [2, " + context
          + "] (the model's context), got " + maxTotalTokens);
    }
    this.maxBatch = maxBatch;
    this.maxTotalTokens = maxTotalTokens;
    this.sampler = new ParallelSampler(params, model.config().vocabSize(), samplerThreads);
    this.params = params;
  }

  /** Generates with EOS as the only stop token. */
  public Rollout generate(List<int[]> prompts, int maxNewTokens, long seed, long firstGlobalRow,
      int eosId) {
    return generate(prompts, maxNewTokens, seed, firstGlobalRow, new int[] {eosId});
  }

  /**
   * Samples up to {@code maxNewTokens} tokens for every prompt.
   *
   * @param prompts        token ids of each prompt (at least one token each)
   * @param maxNewTokens   most new tokens per row
   * @param seed           generation seed (derive one per iteration and role)
   * @param firstGlobalRow index of {@code prompts.get(0)} in the whole, unsharded batch
   * @param stopIds        ids that end a row (kept as its last token), e.g. EOS
   */
  public Rollout generate(List<int[]> prompts, int maxNewTokens, long seed, long firstGlobalRow,
      int[] stopIds) {
    int rows = prompts.size();
    if (rows < 1 || rows > maxBatch) {
      throw new IllegalArgumentException("batch of " + rows + " prompts; this generator takes 1.."
          + maxBatch);
    }
    if (maxNewTokens < 1) {
      throw new IllegalArgumentException("maxNewTokens must be >= 1, got " + maxNewTokens);
    }
    int promptCols = 0;
    for (int b = 0; b < rows; b++) {
      int[] p = prompts.get(b);
      if (p == null || p.length == 0) {
        throw new IllegalArgumentException("prompt " + (firstGlobalRow + b) + " is empty");
      }
      promptCols = Math.max(promptCols, p.length);
    }
    if (promptCols + maxNewTokens > maxTotalTokens) {
      throw new IllegalArgumentException("longest prompt (" + promptCols + " tokens) + "
          + maxNewTokens + " new tokens exceeds this generator's " + maxTotalTokens
          + " tokens (model context " + model.config().maxPositions() + ")");
    }
    KvCache kv = cacheFor(rows);
    int[][] padded = new int[rows][promptCols]; // (B, P) left-padded prompts
    int[][] mask = new int[rows][promptCols];   // (B, P)
    int[][] history = new int[rows][];          // real tokens of each row, prompt then response
    int[] historyLen = new int[rows];
    int pad = stopIds.length > 0 ? stopIds[0] : 0;
    for (int b = 0; b < rows; b++) {
      int[] p = prompts.get(b);
      int offset = promptCols - p.length;
      Arrays.fill(padded[b], 0, offset, pad);
      System.arraycopy(p, 0, padded[b], offset, p.length);
      Arrays.fill(mask[b], offset, promptCols, 1);
      history[b] = Arrays.copyOf(p, p.length + maxNewTokens);
      historyLen[b] = p.length;
    }
    SamplingBatch batch = SamplingBatch.contiguous(seed, firstGlobalRow, rows,
        TokenHistory.of(history, historyLen));
    boolean[] active = batch.active();
    int[] next = new int[rows];
    int[] generated = new int[rows];

    // a model on a device samples there: only the chosen ids come back, not (B, V) logits
    INDArray logits = model.prefill(kv, padded, mask); // (B, V), null when kept on the device
    int live = rows;
    for (int step = 0; step < maxNewTokens && live > 0; step++) {
      if (kv.onDevice()) {
        model.sampleNext(kv, params, batch, step, next);
      } else {
        sampler.sample(logits, batch, step, next);
      }
      for (int b = 0; b < rows; b++) {
        if (!active[b]) {
          next[b] = pad; // finished rows keep feeding a harmless token; their output is cut
          continue;
        }
        history[b][historyLen[b]++] = next[b];
        generated[b]++;
        if (contains(stopIds, next[b])) {
          active[b] = false;
          live--;
        }
      }
      if (live > 0 && step + 1 < maxNewTokens) {
        logits = model.decode(kv, next);
      }
    }
    int[][] responses = new int[rows][];
    int[] lengths = new int[rows];
    for (int b = 0; b < rows; b++) {
      int start = prompts.get(b).length;
      responses[b] = Arrays.copyOfRange(history[b], start, start + generated[b]);
      lengths[b] = generated[b];
    }
    return new Rollout(responses, lengths);
  }

  private KvCache cacheFor(int rows) {
    if (cache == null || cache.batch() != rows) {
      if (cache != null) {
        cache.release(); // a device cache's memory goes back to the arena first
      }
      cache = null; // let the old buffers go before allocating the new ones
      cache = model.newKvCache(rows, maxTotalTokens);
      if (cache.onDevice()) {
        cache.keepLogitsOnDevice();
      }
    }
    return cache;
  }

  private static boolean contains(int[] ids, int id) {
    for (int s : ids) {
      if (s == id) {
        return true;
      }
    }
    return false;
  }

  @Override
  public void close() {
    if (cache != null) {
      cache.release();
      cache = null;
    }
    sampler.close();
  }
}
