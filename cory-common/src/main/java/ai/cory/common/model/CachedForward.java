package ai.cory.common.model;

import java.util.Arrays;

/**
 * Forward of a chunk of n new columns for every row of a {@link KvCache}: the new keys/values
 * are appended to the cache and every new query attends to the cached slots up to its own
 * column that hold real tokens. Prefill is a sequence of chunks, a decode step is a chunk of one
 * column. Only the last column's logits are computed.
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
    Embedding.forward(kv.x, kv.tokens, kv.positions, w.tokEmb, w.posEmb, rows, c, kv.scratch);
    for (int l = 0; l < cfg.layers(); l++) {
      block(kv, l, n);
    }
    if (wantLogits) {
      for (int b = 0; b < bsz; b++) {
        kv.last.copyFrom((long) b * c, kv.x, ((long) b * n + n - 1) * c, c);
      }
      transformer.norm(kv.lastNorm, kv.lastMean, kv.lastRstd, kv.last, w.normFW, w.normFB, bsz,
          kv.scratch);
      Blas.gemm(false, true, bsz, cfg.vocabSize(), c, 1.0, kv.lastNorm, 0, c, w.head, 0, c, 0.0,
          kv.logits, 0, cfg.vocabSize());
    }
  }

  private void block(KvCache kv, int l, int n) {
    Weights.Layer lw = w.layers[l];
    int rows = kv.batch * n;
    int c = cfg.hidden();
    int d = cfg.headDim();
    int w3 = (cfg.heads() + 2 * cfg.kvHeads()) * d;
    int hd = cfg.heads() * d;
    transformer.norm(kv.norm, kv.mean, kv.rstd, kv.x, lw.norm1W(), lw.norm1B(), rows, kv.scratch);
    Linear.forward(kv.qkv, kv.norm, lw.qkvW(), lw.qkvB(), rows, c, w3, false, kv.ones);
    Transformer.adapt(this.lw, l, ParamLayout.Slot.QKV, kv.qkv, w3, kv.norm, rows);
    if (!gpt2) {
      transformer.rope().apply(kv.qkv, rows, w3, 0, cfg.heads() + cfg.kvHeads(), kv.positions,
          false, kv.scratch);
    }
    appendKeysValues(kv, l, n);
    attend(kv, l, n);
    Linear.forward(kv.x, kv.attY, lw.projW(), lw.projB(), rows, hd, c, true, kv.ones);
    Transformer.adapt(this.lw, l, ParamLayout.Slot.PROJ, kv.x, c, kv.attY, rows);
    transformer.norm(kv.norm, kv.mean, kv.rstd, kv.x, lw.norm2W(), lw.norm2B(), rows, kv.scratch);
    int f1 = gpt2 ? cfg.intermediate() : 2 * cfg.intermediate();
    int f2 = cfg.intermediate();
    Linear.forward(kv.mlpIn, kv.norm, lw.fcW(), lw.fcB(), rows, c, f1, false, kv.ones);
    Transformer.adapt(this.lw, l, ParamLayout.Slot.FC, kv.mlpIn, f1, kv.norm, rows);
    if (gpt2) {
      Gelu.forward(kv.mlpAct, kv.mlpIn, (long) rows * f1, kv.scratch);
    } else {
      SwiGlu.forward(kv.mlpAct, kv.mlpIn, rows, f2, kv.scratch);
    }
    Linear.forward(kv.x, kv.mlpAct, lw.fc2W(), lw.fc2B(), rows, f2, c, true, kv.ones);
    Transformer.adapt(this.lw, l, ParamLayout.Slot.FC2, kv.x, c, kv.mlpAct, rows);
  }

  /** Copies the chunk's keys and values (per KV head, D each) into their slots. */
  private void appendKeysValues(KvCache kv, int l, int n) {
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
  private void attend(KvCache kv, int l, int n) {
    if (n == 1) {
      attendOne(kv, l);
      return;
    }
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
  private void attendOne(KvCache kv, int l) {
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
