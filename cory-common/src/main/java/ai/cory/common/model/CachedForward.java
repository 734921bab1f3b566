package ai.cory.common.model;

import java.util.Arrays;

/**
 * Forward of a chunk of n new columns for every row of a {@link KvCache}: the new keys/values
 * are appended to the cache and every new query attends to the cached slots up to its own
 * column that hold real tokens. Prefill is a sequence of chunks, a decode step is a chunk of one
 * column. Only the last column's logits are computed. Every layer runs on the cache's backend
 * ({@link Kernels}): host caches on the CPU kernels, device caches on the device's.
 */
final class CachedForward {
  private final ModelConfig cfg;
  private final Transformer transformer;
  private final Weights w;
  private final LoraWeights lw; // null without adapters
  private final boolean gpt2;

  CachedForward(ModelConfig cfg, Transformer transformer, Weights w, LoraWeights lw) {
    this.cfg = cfg;
    this.transformer = transformer;
    this.w = w;
    this.lw = lw;
    this.gpt2 = cfg.arch() == ModelConfig.Arch.GPT2;
  }

  /**
   * Empties {@code cache} and runs the left-padded prompts through it in chunks, leaving the
   * last column's (B, V) logits in {@code cache.logits}; see {@link CausalLm#prefill}.
   */
  void prefill(KvCache cache, int[][] prompts, int[][] mask) {
    TokenBatch batch = TokenBatch.of(prompts, mask);
    if (batch.batch() != cache.batch) {
      throw new IllegalArgumentException("prompts have " + batch.batch() + " rows, the cache "
          + cache.batch);
    }
    int p = batch.seq();
    if (p > cache.maxTokens) {
      throw new IllegalArgumentException("prompt of " + p + " columns exceeds the cache's "
          + cache.maxTokens);
    }
    batch.validate(cfg);
    for (int b = 0; b < batch.batch(); b++) {
      if (batch.mask(b, p - 1) == 0) {
        throw new IllegalArgumentException("prompt row " + b + " ends with padding; prompts "
            + "must be left-padded so the last column is a real token");
      }
    }
    cache.reset();
    for (int c0 = 0; c0 < p; c0 += cache.chunkCols) {
      int n = Math.min(cache.chunkCols, p - c0);
      for (int b = 0; b < cache.batch; b++) {
        for (int i = 0; i < n; i++) {
          cache.tokens[b * n + i] = batch.token(b, c0 + i);
          cache.chunkMask[b * n + i] = batch.mask(b, c0 + i);
        }
      }
      chunk(cache, n, cache.chunkMask, c0 + n == p);
    }
  }

  /**
   * Appends one real token to every row, leaving the next-token logits in {@code cache.logits};
   * see {@link CausalLm#decode}.
   */
  void decode(KvCache cache, int[] nextTokens) {
    if (nextTokens.length != cache.batch) {
      throw new IllegalArgumentException(nextTokens.length + " tokens for " + cache.batch
          + " rows");
    }
    if (cache.length == 0) {
      throw new IllegalStateException("decode before prefill");
    }
    if (cache.length >= cache.maxTokens) {
      throw new IllegalStateException("KV cache full: " + cache.maxTokens + " slots");
    }
    for (int b = 0; b < cache.batch; b++) {
      if (nextTokens[b] < 0 || nextTokens[b] >= cfg.vocabSize()) {
        throw new IllegalArgumentException("token " + nextTokens[b] + " of row " + b
            + " outside the vocabulary [0, " + cfg.vocabSize() + ")");
      }
      cache.tokens[b] = nextTokens[b];
      cache.chunkMask[b] = 1;
    }
    chunk(cache, 1, cache.chunkMask, true);
  }

  /**
   * Processes columns {@code [cache.length, cache.length + n)}; tokens and masks of the chunk
   * are row-major {@code (B, n)} in {@code cache.tokens} / {@code mask}.
   *
   * @param wantLogits compute the (B, V) logits of the chunk's last column into cache.logits
   */
  void chunk(KvCache kv, int n, int[] mask, boolean wantLogits) {
    int bsz = kv.batch;
    int rows = bsz * n;
    int c = cfg.hidden();
    int c0 = kv.length;
    for (int b = 0; b < bsz; b++) {
      int real = 0;
      for (int i = 0; i < n; i++) {
        real += mask[b * n + i];
      }
      int last = Math.max(kv.nextPosition[b] + real - 1, c0 + n - 1);
      if (last >= cfg.maxPositions()) {
        throw new IllegalStateException("row " + b + " would reach position " + last
            + " but the model has " + cfg.maxPositions() + " positions");
      }
    }
    for (int b = 0; b < bsz; b++) {
      for (int i = 0; i < n; i++) {
        int r = b * n + i;
        kv.slotMask[b * kv.maxTokens + c0 + i] = mask[r];
        kv.positions[r] = mask[r] != 0 ? kv.nextPosition[b]++ : c0 + i;
      }
    }
    kv.length = c0 + n;
    Kernels k = kv.kernels;
    TokenBatch batch = TokenBatch.chunk(bsz, n, kv.tokens, kv.positions, mask);
    k.bind(batch);
    k.bindCache(kv);
    k.embedding(kv.x, batch, w.tokEmb, w.posEmb, rows, c);
    for (int l = 0; l < cfg.layers(); l++) {
      block(kv, l, n, batch);
    }
    if (wantLogits) {
      for (int b = 0; b < bsz; b++) {
        kv.lastRows[b] = b * n + n - 1;
      }
      k.gatherRows(kv.last, kv.x, kv.lastRows, 0, bsz, c);
      transformer.norm(k, kv.lastNorm, kv.lastMean, kv.lastRstd, kv.last, w.normFW, w.normFB,
          bsz);
      k.linear(kv.logits, kv.lastNorm, Matrix.dense(w.head, true), null, bsz, c,
          cfg.vocabSize(), false);
    }
  }

  private void block(KvCache kv, int l, int n, TokenBatch batch) {
    Weights.Layer lw = w.layers[l];
    Kernels k = kv.kernels;
    int rows = kv.batch * n;
    int c = cfg.hidden();
    int d = cfg.headDim();
    int w3 = (cfg.heads() + 2 * cfg.kvHeads()) * d;
    int hd = cfg.heads() * d;
    transformer.norm(k, kv.norm, kv.mean, kv.rstd, kv.x, lw.norm1W(), lw.norm1B(), rows);
    k.linear(kv.qkv, kv.norm, lw.qkvW(), lw.qkvB(), rows, c, w3, false);
    adapt(k, l, ParamLayout.Slot.QKV, kv.qkv, w3, kv.norm, rows);
    if (!gpt2) {
      k.rope(transformer.rope(), kv.qkv, rows, w3, cfg.heads() + cfg.kvHeads(), batch, false);
    }
    k.kvAppend(kv, l, n);
    k.cachedAttention(kv, l, n);
    k.linear(kv.x, kv.attY, lw.projW(), lw.projB(), rows, hd, c, true);
    adapt(k, l, ParamLayout.Slot.PROJ, kv.x, c, kv.attY, rows);
    transformer.norm(k, kv.norm, kv.mean, kv.rstd, kv.x, lw.norm2W(), lw.norm2B(), rows);
    int f1 = gpt2 ? cfg.intermediate() : 2 * cfg.intermediate();
    int f2 = cfg.intermediate();
    k.linear(kv.mlpIn, kv.norm, lw.fcW(), lw.fcB(), rows, c, f1, false);
    adapt(k, l, ParamLayout.Slot.FC, kv.mlpIn, f1, kv.norm, rows);
    if (gpt2) {
      k.gelu(kv.mlpAct, kv.mlpIn, (long) rows * f1);
    } else {
      k.swiglu(kv.mlpAct, kv.mlpIn, rows, f2);
    }
    k.linear(kv.x, kv.mlpAct, lw.fc2W(), lw.fc2B(), rows, f2, c, true);
    adapt(k, l, ParamLayout.Slot.FC2, kv.x, c, kv.mlpAct, rows);
  }

  private void adapt(Kernels k, int l, ParamLayout.Slot slot, Span y, int width, Span x,
      int rows) {
    if (lw != null) {
      k.lora(y, width, x, lw.at(l, slot), rows, lw.rank, lw.scale);
    }
  }

  /** Copies the chunk's keys and values (per KV head, D each) into their slots. */
  static void appendKeysValues(KvCache kv, int l, int n) {
    ModelConfig cfg = kv.cfg;
    int d = cfg.headDim();
    int kvh = cfg.kvHeads();
    int w3 = (cfg.heads() + 2 * kvh) * d;
    int c0 = kv.length - n;
    for (int b = 0; b < kv.batch; b++) {
      for (int i = 0; i < n; i++) {
        long src = (long) (b * n + i) * w3;
        for (int g = 0; g < kvh; g++) {
          long dst = ((long) (b * kvh + g) * kv.maxTokens + c0 + i) * d;
          kv.keys[l].copyFrom(dst, kv.qkv, src + (long) (cfg.heads() + g) * d, d);
          kv.values[l].copyFrom(dst, kv.qkv, src + (long) (cfg.heads() + kvh + g) * d, d);
        }
      }
    }
  }

  /**
   * attY (B*n, HD) = softmax(q K^T / sqrt(D) + mask) V over the cached slots; one task per
   * (row, KV head) with calling-thread BLAS, as in {@link Attention}.
   */
  static void attend(KvCache kv, int l, int n) {
    if (n == 1) {
      attendOne(kv, l);
      return;
    }
    ModelConfig cfg = kv.cfg;
    int d = cfg.headDim();
    int heads = cfg.heads();
    int kvh = cfg.kvHeads();
    int rep = heads / kvh;
    int w3 = (heads + 2 * kvh) * d;
    int hd = heads * d;
    int len = kv.length;
    int c0 = len - n;
    double scale = 1.0 / Math.sqrt(d);
    Parallel.forRange(kv.batch * kvh, 1, (part, from, to) -> {
      double[] s = kv.scratch.row(part, 0, len);
      for (int task = from; task < to; task++) {
        int b = task / kvh;
        int g = task % kvh;
        long cacheOff = ((long) (b * kvh + g) * kv.maxTokens) * d;
        for (int h = g * rep; h < (g + 1) * rep; h++) {
          long sOff = ((long) (b * heads + h) * n) * len;
          Blas.gemmOnThisThread(false, true, n, len, d, scale, kv.qkv,
              (long) b * n * w3 + (long) h * d, w3, kv.keys[l], cacheOff, d, 0.0, kv.scores,
              sOff, len);
          for (int i = 0; i < n; i++) {
            kv.scores.read(sOff + (long) i * len, s, 0, len);
            Attention.maskedSoftmax(s, kv.slotMask, b * kv.maxTokens, c0 + i, len);
            kv.scores.write(sOff + (long) i * len, s, 0, len);
          }
          Blas.gemmOnThisThread(false, false, n, d, len, 1.0, kv.scores, sOff, len,
              kv.values[l], cacheOff, d, 0.0, kv.attY, (long) b * n * hd + (long) h * d, hd);
        }
      }
    });
  }

  /**
   * The decode case (one new column): per (row, KV head) the cached keys and values are read
   * once into heap rows and every query head of the group does its {@code len} dot products and
   * axpys there: two tiny BLAS calls per head would cost more in call overhead than arithmetic.
   */
  private static void attendOne(KvCache kv, int l) {
    ModelConfig cfg = kv.cfg;
    int d = cfg.headDim();
    int heads = cfg.heads();
    int kvh = cfg.kvHeads();
    int rep = heads / kvh;
    int w3 = (heads + 2 * kvh) * d;
    int hd = heads * d;
    int len = kv.length;
    double scale = 1.0 / Math.sqrt(d);
    Parallel.forRange(kv.batch * kvh, 1, (part, from, to) -> {
      double[] keys = kv.scratch.row(part, 0, len * d);
      double[] values = kv.scratch.row(part, 1, len * d);
      double[] q = kv.scratch.row(part, 2, d);
      double[] y = kv.scratch.row(part, 3, d);
      for (int task = from; task < to; task++) {
        int b = task / kvh;
        int g = task % kvh;
        long cacheOff = ((long) (b * kvh + g) * kv.maxTokens) * d;
        kv.keys[l].read(cacheOff, keys, 0, len * d);
        kv.values[l].read(cacheOff, values, 0, len * d);
        for (int h = g * rep; h < (g + 1) * rep; h++) {
          kv.qkv.read((long) b * w3 + (long) h * d, q, 0, d);
          double[] s = kv.scratch.row(part, 4, len);
          for (int j = 0; j < len; j++) {
            s[j] = scale * VecMath.dot(q, 0, keys, j * d, d);
          }
          Attention.maskedSoftmax(s, kv.slotMask, b * kv.maxTokens, len - 1, len);
          Arrays.fill(y, 0, d, 0.0);
          for (int j = 0; j < len; j++) {
            if (s[j] != 0) {
              VecMath.axpy(s[j], values, j * d, y, 0, d);
            }
          }
          kv.attY.write((long) b * hd + (long) h * d, y, 0, d);
        }
      }
    });
  }
}
