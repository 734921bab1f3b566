package ai.cory.common.model;

import ai.cory.common.sampling.SamplingParams;

/**
 * The device backend: each layer operation as launches of the CUDA C entry points shipped in
 * {@code common/cuda/kernels} and cuBLAS GEMMs, through an {@link Accelerator}, on device spans
 * ({@link Span.Dev}). Launch shapes follow the kernels' contracts (their comments and the GPU
 * check): grid-stride kernels get at most 65535 blocks of {@value #THREADS} threads, row
 * reductions one block per row, attention one block per (query, head, sequence).
 *
 * <p>Every reduction runs in a fixed order, so a pass is deterministic; the exception is the
 * embeddings' gradient (float atomics), which LoRA training never computes. A quantised base's
 * matrices stay packed in device memory and are dequantised a tile of rows at a time into
 * float32 scratch right before the GEMM that reads it (the CPU's {@link Matrix} scheme, with
 * larger tiles), byte for byte as the CPU dequantises.
 */
final class DeviceKernels implements Kernels {
  static final int THREADS = 256;
  private static final int ATTENTION_THREADS = 64;
  private static final int VOCAB_THREADS = 1024;
  private static final int SAMPLE_THREADS = 1024;
  /** Weights per dequantised tile of a packed base matrix (64 MiB of float32). */
  static final long TILE_ELEMENTS = 16L << 20;
  /** Input rows up to which a packed matrix's product reads it as stored ({@code gemv_packed}). */
  static final int GEMV_MAX_ROWS = 16;

  private final Accelerator acc;
  private final int maxRows;
  private final long tokens;    // (maxRows) int
  private final long positions; // (maxRows) int
  private final long mask;      // (maxRows) int
  private final long rowTargets; // (maxRows) int: the head rows of the last forward
  private final long rowStat;
  private final long rowLogp;
  private VocabSoftmax.Rows rowsOnDevice;
  private final long rowIndex;  // (maxRows) int: the rows of a gather or scatter
  private long slotMask;        // (B, maxTokens) int: a KV cache's, allocated at the first chunk
  private int slotMaskCapacity;
  private long sampleScores;    // (B, V) double scratch of sample_tokens, at the first sample
  private long sampleWeights;
  private long sampleSmall;     // (B) ints: history lengths, active, out; (B) doubles: uniforms
  private long sampleHistory;   // (B, stride) int
  private long sampleHistoryCapacity;
  private long tile;            // float32 scratch for a packed matrix's dequantised rows
  private long tileCapacity;
  private long loraU;           // (maxRows, rank), allocated at the first adapter
  private long loraDu;
  private int loraRank;
  private Rope ropeOnDevice;
  private long cosTable;
  private long sinTable;

  private final DeviceMemory memory; // the owning workspace's or cache's: scratch goes with it

  private long own(long bytes) {
    return memory.alloc(bytes);
  }

  private void give(long at) {
    memory.free(at);
  }

  DeviceKernels(Accelerator acc, DeviceMemory memory, int maxRows) {
    this.acc = acc;
    this.memory = memory;
    this.maxRows = maxRows;
    this.tokens = own(4L * maxRows);
    this.positions = own(4L * maxRows);
    this.mask = own(4L * maxRows);
    this.rowTargets = own(4L * maxRows);
    this.rowStat = own(4L * maxRows);
    this.rowLogp = own(4L * maxRows);
    this.rowIndex = own(4L * maxRows);
  }

  static int[] grid(long n) {
    return new int[] {(int) Math.max(1, Math.min(65535, (n + THREADS - 1) / THREADS))};
  }

  private static long at(Span s) {
    return s == null ? 0L : ((Span.Dev) s).address(0);
  }

  private static long at(Span s, long i) {
    return ((Span.Dev) s).address(i);
  }

  @Override
  public void bind(TokenBatch batch) {
    int n = batch.batch() * batch.seq();
    if (n > maxRows) {
      throw new IllegalArgumentException(n + " tokens exceed the device workspace's " + maxRows);
    }
    acc.upload(tokens, batch.tokensFlat(), 0, n);
    acc.upload(positions, batch.positionsFlat(), 0, n);
    acc.upload(mask, batch.maskFlat(), 0, n);
  }

  @Override
  public void embedding(Span x, TokenBatch batch, Span tok, Span pos, int n, int c) {
    acc.launch("embedding_forward", grid((long) n * c), THREADS, 0, at(x), tokens, positions,
        at(tok), at(pos), n, c);
  }

  @Override
  public void embeddingBackward(Span dTok, Span dPos, Span dx, TokenBatch batch, int n, int c) {
    if (dTok != null) {
      acc.launch("embedding_backward", grid((long) n * c), THREADS, 0, at(dTok), at(dPos), at(dx),
          tokens, positions, n, c);
    }
  }

  @Override
  public void layerNorm(Span out, Span mean, Span rstd, Span x, Span w, Span b, int n, int c,
      double eps) {
    acc.launch("layernorm_forward", new int[] {n}, THREADS, 0, at(out), at(mean), at(rstd), at(x),
        at(w), at(b), n, c, (float) eps);
  }

  @Override
  public void layerNormBackward(Span dx, Span dw, Span db, Span dout, Span x, Span mean,
      Span rstd, Span w, int n, int c) {
    if (dw != null) {
      acc.launch("layernorm_dwdb", grid(c), THREADS, 0, at(dw), at(db), at(dout), at(x), at(mean),
          at(rstd), n, c);
    }
    acc.launch("layernorm_backward", new int[] {n}, THREADS, 0, at(dx), at(dout), at(x),
        at(mean), at(rstd), at(w), n, c);
  }

  @Override
  public void rmsNorm(Span out, Span rstd, Span x, Span w, int n, int c, double eps) {
    acc.launch("rmsnorm_forward", new int[] {n}, THREADS, 0, at(out), at(rstd), at(x), at(w), n,
        c, (float) eps);
  }

  @Override
  public void rmsNormBackward(Span dx, Span dw, Span dout, Span x, Span rstd, Span w, int n,
      int c) {
    if (dw != null) {
      acc.launch("rmsnorm_dw", grid(c), THREADS, 0, at(dw), at(dout), at(x), at(rstd), n, c);
    }
    acc.launch("rmsnorm_backward", new int[] {n}, THREADS, 0, at(dx), at(dout), at(x), at(rstd),
        at(w), n, c);
  }

  private static Span dense(Matrix w) {
    if (w.dense == null) {
      throw new IllegalStateException("a packed matrix reached the device unmapped");
    }
    return w.dense;
  }

  @Override
  public void linear(Span y, Span x, Matrix w, Span b, int n, int in, int out,
      boolean accumulate) {
    if (w.resident != null && n <= GEMV_MAX_ROWS) {
      gemvPacked(y, x, w.resident, n, accumulate);
    } else if (w.resident != null) {
      int rows = tileRows(w.resident);
      for (int r0 = 0; r0 < out; r0 += rows) {
        int m = Math.min(rows, out - r0);
        dequantise(w.resident, r0, m);
        acc.gemm(false, true, n, m, in, 1f, at(x), in, tile, in, accumulate ? 1f : 0f,
            at(y, r0), out);
      }
    } else {
      acc.gemm(false, w.outIn, n, out, in, 1f, at(x), in, at(dense(w)), w.outIn ? in : out,
          accumulate ? 1f : 0f, at(y), out);
    }
    if (b != null) {
      acc.launch("add_bias", grid((long) n * out), THREADS, 0, at(y), at(b), n, out);
    }
  }

  @Override
  public void linearBackward(Span dx, Matrix dw, Span db, Span dy, Span x, Matrix w, int n,
      int in, int out) {
    if (dw != null) {
      if (dw.outIn) {
        acc.gemm(true, false, out, in, n, 1f, at(dy), out, at(x), in, 1f, at(dense(dw)), in);
      } else {
        acc.gemm(true, false, in, out, n, 1f, at(x), in, at(dy), out, 1f, at(dense(dw)), out);
      }
    }
    if (db != null) {
      acc.launch("column_sum", grid(out), THREADS, 0, at(db), at(dy), n, out);
    }
    if (dx == null) {
      return;
    }
    if (w.resident != null) { // dx = sum over tiles of dy[:, tile] W[tile, :]
      int rows = tileRows(w.resident);
      for (int r0 = 0; r0 < out; r0 += rows) {
        int m = Math.min(rows, out - r0);
        dequantise(w.resident, r0, m);
        acc.gemm(false, false, n, in, m, 1f, at(dy, r0), out, tile, in, r0 > 0 ? 1f : 0f, at(dx),
            in);
      }
    } else {
      acc.gemm(false, !w.outIn, n, in, out, 1f, at(dy), out, at(dense(w)), w.outIn ? in : out,
          0f, at(dx), in);
    }
  }

  /**
   * {@code y (n, rows) (+)= x (n, cols) W^T} straight from a packed matrix's stored bytes, for a
   * few input rows (a decode step): the weights are read once as stored (a quarter to a half of
   * the bytes a float32 tile would be written and read again) and decoded bit for bit as the
   * dequantisation kernels do; one warp per weight row, float32 sums in a fixed order.
   */
  private void gemvPacked(Span y, Span x, Matrix.Resident p, int n, boolean accumulate) {
    int format = switch (p.dtype()) {
      case BF16 -> 0;
      case FP16 -> 1;
      case INT8 -> 2;
      case NF4 -> 3;
      case NF4_DQ -> 4;
      default -> throw new IllegalStateException(p.dtype() + " is not a packed format");
    };
    int warps = THREADS / 32;
    int[] g = {(int) Math.max(1, Math.min(65535, (p.rows() + warps - 1) / warps))};
    acc.launch("gemv_packed", g, THREADS, 0, at(y), at(x), p.bytes(), p.scaleStart(), p.second(),
        p.mean(), format, n, p.rows(), p.cols(), accumulate ? 1 : 0);
  }

  /** Rows of a packed matrix per dequantised tile: about {@value #TILE_ELEMENTS} weights. */
  private int tileRows(Matrix.Resident p) {
    int rows = (int) Math.max(1, Math.min(p.rows(), TILE_ELEMENTS / Math.max(1, p.cols())));
    long need = (long) rows * p.cols();
    if (need > tileCapacity) { // grows to the largest tile the model needs, once
      give(tile);
      tile = own(4 * need);
      tileCapacity = need;
    }
    return rows;
  }

  /** Rows {@code [r0, r0 + m)} of {@code p} into the float32 tile (m, cols). */
  private void dequantise(Matrix.Resident p, int r0, int m) {
    int[] g = grid((long) m * p.cols());
    switch (p.dtype()) {
      case BF16, FP16 -> acc.launch("dequant_half", g, THREADS, 0, tile, 0L, p.bytes(), r0, m,
          p.cols(), p.dtype() == BaseDtype.FP16 ? 1 : 0);
      case INT8 -> acc.launch("dequant_int8", g, THREADS, 0, tile, 0L, p.bytes(), p.scaleStart(),
          r0, m, p.cols());
      case NF4, NF4_DQ -> acc.launch("dequant_nf4", g, THREADS, 0, tile, 0L, p.bytes(),
          p.scaleStart(), p.second(), p.mean(), p.dtype() == BaseDtype.NF4_DQ ? 1 : 0, r0, m,
          p.cols());
      default -> throw new IllegalStateException(p.dtype() + " is not a packed format");
    }
  }

  private void loraScratch(int rank) {
    if (rank > loraRank) { // once per workspace: every agent of a run has one rank
      give(loraU);
      give(loraDu);
      loraU = own(4L * maxRows * rank);
      loraDu = own(4L * maxRows * rank);
      loraRank = rank;
    }
  }

  @Override
  public void lora(Span y, int ldy, Span x, LoraWeights.Adapter[] adapters, int n, int rank,
      double scale) {
    if (adapters.length == 0) {
      return;
    }
    loraScratch(rank);
    for (LoraWeights.Adapter ad : adapters) {
      acc.gemm(false, true, n, rank, ad.in(), 1f, at(x), ad.in(), at(ad.a()), ad.in(), 0f, loraU,
          rank);
      acc.gemm(false, true, n, ad.out(), rank, (float) scale, loraU, rank, at(ad.b()), rank, 1f,
          at(y, ad.colOffset()), ldy);
    }
  }

  @Override
  public void loraBackward(Span dx, Span dy, int ldy, Span x, LoraWeights.Adapter[] adapters,
      LoraWeights.Adapter[] grads, int n, int rank, double scale) {
    if (adapters.length == 0) {
      return;
    }
    loraScratch(rank);
    float s = (float) scale;
    for (int k = 0; k < adapters.length; k++) {
      LoraWeights.Adapter ad = adapters[k];
      LoraWeights.Adapter g = grads[k];
      int in = ad.in();
      long dyAt = at(dy, ad.colOffset());
      acc.gemm(false, true, n, rank, in, 1f, at(x), in, at(ad.a()), in, 0f, loraU, rank);
      acc.gemm(true, false, ad.out(), rank, n, s, dyAt, ldy, loraU, rank, 1f, at(g.b()), rank);
      acc.gemm(false, false, n, rank, ad.out(), s, dyAt, ldy, at(ad.b()), rank, 0f, loraDu, rank);
      acc.gemm(true, false, rank, in, n, 1f, loraDu, rank, at(x), in, 1f, at(g.a()), in);
      if (dx != null) {
        acc.gemm(false, false, n, in, rank, 1f, loraDu, rank, at(ad.a()), in, 1f, at(dx), in);
      }
    }
  }

  @Override
  public void rope(Rope rope, Span x, int n, int width, int heads, TokenBatch batch,
      boolean inverse) {
    if (rope != ropeOnDevice) { // the tables go up once per model
      float[] cos = rope.cosFloats();
      give(cosTable);
      give(sinTable);
      cosTable = own(4L * cos.length);
      sinTable = own(4L * cos.length);
      acc.upload(cosTable, cos, 0, cos.length);
      acc.upload(sinTable, rope.sinFloats(), 0, cos.length);
      ropeOnDevice = rope;
    }
    int half = rope.headDim() / 2;
    acc.launch("rope_apply", grid((long) n * heads * half), THREADS, 0, at(x), positions, cosTable,
        sinTable, n, width, 0, heads, rope.headDim(), inverse ? 1 : 0);
  }

  @Override
  public void attention(Span y, Span att, Span qkv, TokenBatch batch, Attention.Dims d) {
    acc.launch("attention_forward", new int[] {d.seq(), d.heads(), d.batch()}, ATTENTION_THREADS,
        4 * d.seq(), at(y), at(att), at(qkv), mask, d.batch(), d.seq(), d.heads(), d.kvHeads(),
        d.headDim(), (float) (1.0 / Math.sqrt(d.headDim())));
  }

  @Override
  public void attentionBackward(Span dqkv, Span datt, Span dy, Span att, Span qkv,
      Attention.Dims d) {
    float scale = (float) (1.0 / Math.sqrt(d.headDim()));
    dqkv.zero(0, (long) d.batch() * d.seq() * d.width());
    acc.launch("attention_backward_query", new int[] {d.seq(), d.heads(), d.batch()},
        ATTENTION_THREADS, 4 * d.seq(), at(dqkv), at(datt), at(dy), at(att), at(qkv), d.batch(),
        d.seq(), d.heads(), d.kvHeads(), d.headDim(), scale);
    acc.launch("attention_backward_key", new int[] {d.seq(), d.kvHeads(), d.batch()},
        d.headDim(), 0, at(dqkv), at(datt), at(dy), at(att), at(qkv), d.batch(), d.seq(),
        d.heads(), d.kvHeads(), d.headDim(), scale);
  }

  @Override
  public void gelu(Span out, Span x, long n) {
    acc.launch("gelu_forward", grid(n), THREADS, 0, at(out), at(x), n);
  }

  @Override
  public void geluBackward(Span dx, Span dout, Span x, long n) {
    acc.launch("gelu_backward", grid(n), THREADS, 0, at(dx), at(dout), at(x), n);
  }

  @Override
  public void swiglu(Span act, Span gateUp, int n, int inter) {
    acc.launch("swiglu_forward", grid((long) n * inter), THREADS, 0, at(act), at(gateUp), n,
        inter);
  }

  @Override
  public void swigluBackward(Span dGateUp, Span dAct, Span gateUp, int n, int inter) {
    acc.launch("swiglu_backward", grid((long) n * inter), THREADS, 0, at(dGateUp), at(dAct),
        at(gateUp), n, inter);
  }

  @Override
  public void valueHead(Span values, Span x, Span w, Span b, int n, int c) {
    acc.gemm(false, false, n, 1, c, 1f, at(x), c, at(w), 1, 0f, at(values), 1);
    acc.launch("add_bias", grid(n), THREADS, 0, at(values), at(b), n, 1);
  }

  @Override
  public void valueHeadBackward(Span dx, Span dw, Span db, Span dvalues, Span x, Span w, int n,
      int c) {
    acc.gemm(false, false, n, c, 1, 1f, at(dvalues), 1, at(w), c, 1f, at(dx), c);
    if (dw != null) {
      acc.gemm(true, false, c, 1, n, 1f, at(x), c, at(dvalues), 1, 1f, at(dw), 1);
    }
    if (db != null) {
      acc.launch("column_sum", grid(1), THREADS, 0, at(db), at(dvalues), n, 1);
    }
  }

  /** The head rows' indices go up once per forward (backward reuses them). */
  private void bindRows(VocabSoftmax.Rows rows) {
    if (rows != rowsOnDevice) {
      int r = rows.count();
      if (r > maxRows) {
        throw new IllegalArgumentException(r + " head rows exceed the device workspace's "
            + maxRows);
      }
      acc.upload(rowTargets, rows.targets(), 0, r);
      acc.upload(rowStat, rows.statIndex(), 0, r);
      acc.upload(rowLogp, rows.logpIndex(), 0, r);
      rowsOnDevice = rows;
    }
  }

  private long index(int[] index, int from, int count) {
    if (count > maxRows) {
      throw new IllegalArgumentException(count + " rows exceed the device workspace's " + maxRows);
    }
    acc.upload(rowIndex, index, from, count);
    return rowIndex;
  }

  // A gather of rows is an embedding lookup with the row indices as tokens, and its scatter-add
  // the embedding gradient: the rows are distinct, so no two atomics meet (deterministic).
  @Override
  public void gatherRows(Span out, Span src, int[] index, int from, int count, int c) {
    acc.launch("embedding_forward", grid((long) count * c), THREADS, 0, at(out),
        index(index, from, count), 0L, at(src), 0L, count, c);
  }

  @Override
  public void scatterAddRows(Span dst, Span src, int[] index, int from, int count, int c) {
    acc.launch("embedding_backward", grid((long) count * c), THREADS, 0, at(dst), 0L, at(src),
        index(index, from, count), 0L, count, c);
  }

  @Override
  public void vocabForward(Span z, int vocab, VocabSoftmax.Rows rows, int from, int count,
      Span lse, Span logp, Span entropy, boolean toLogProbs, Span refLogProbs, Span kl) {
    bindRows(rows);
    acc.launch("vocab_forward", new int[] {count}, VOCAB_THREADS, 0, at(lse), at(logp),
        at(entropy), at(kl), at(z), refLogProbs == null ? 0L : at(refLogProbs, (long) from * vocab),
        rowTargets + 4L * from, rowStat + 4L * from, rowLogp + 4L * from, count, vocab,
        toLogProbs ? 1 : 0);
  }

  @Override
  public void vocabBackward(Span z, int vocab, VocabSoftmax.Rows rows, int from, int count,
      Span lse, boolean holdsLogProbs, Span dLogp, Span dFull) {
    bindRows(rows);
    acc.launch("vocab_backward", new int[] {count}, VOCAB_THREADS, 0, at(z), at(lse), at(dLogp),
        at(dFull), rowTargets + 4L * from, rowStat + 4L * from, rowLogp + 4L * from, count, vocab,
        holdsLogProbs ? 1 : 0);
  }

  /**
   * The next token of each active row from a device cache's last logits ({@code sample_tokens}:
   * the CPU sampler's processors in Hugging Face's order, the draw scanning ids in ascending
   * order); only the B chosen ids come back.
   *
   * @param history (B, stride) each row's tokens so far, {@code historyLen} of them
   * @param uniforms (B) each row's uniform in [0, 1)
   * @param active   (B) 1 for rows still generating
   * @param next     (B) written for the active rows
   */
  void sample(KvCache kv, SamplingParams p, int[] history, int stride, int[] historyLen,
      double[] uniforms, int[] active, int[] next) {
    int rows = kv.batch;
    int vocab = kv.cfg.vocabSize();
    if (sampleScores == 0 || sampleHistoryCapacity < (long) rows * stride) {
      if (sampleScores == 0) {
        sampleScores = own(8L * rows * vocab);
        sampleWeights = own(8L * rows * vocab);
        sampleSmall = own(32L * rows); // history lengths, active, out: ints; uniforms
      }
      give(sampleHistory);
      sampleHistory = own(4L * rows * stride);
      sampleHistoryCapacity = (long) rows * stride;
    }
    long lengths = sampleSmall;
    long live = sampleSmall + 4L * rows;
    long out = sampleSmall + 8L * rows;
    long u = sampleSmall + 16L * rows; // 8-byte aligned
    acc.upload(sampleHistory, history, 0, rows * stride);
    acc.upload(lengths, historyLen, 0, rows);
    acc.upload(live, active, 0, rows);
    acc.upload(u, uniforms, 0, rows);
    acc.launch("sample_tokens", new int[] {rows}, SAMPLE_THREADS, 0, out, sampleScores,
        sampleWeights, at(kv.logits), sampleHistory, lengths, stride, u, live, rows, vocab,
        (float) p.temperature(), p.topK(), (float) p.topP(), (float) p.repetitionPenalty(),
        p.greedy() ? 1 : 0);
    int[] chosen = new int[rows];
    acc.download(out, chosen, 0, rows);
    for (int b = 0; b < rows; b++) {
      if (active[b] != 0) {
        next[b] = chosen[b];
      }
    }
  }

  @Override
  public void bindCache(KvCache kv) {
    int n = kv.batch * kv.maxTokens;
    if (n > slotMaskCapacity) { // once per cache: its shape is fixed
      give(slotMask);
      slotMask = own(4L * n);
      slotMaskCapacity = n;
    }
    acc.upload(slotMask, kv.slotMask, 0, n);
  }

  @Override
  public void kvAppend(KvCache kv, int l, int n) {
    ModelConfig cfg = kv.cfg;
    acc.launch("kv_cache_write", grid((long) kv.batch * n * cfg.kvHeads() * cfg.headDim()),
        THREADS, 0, at(kv.keys[l]), at(kv.values[l]), at(kv.qkv), kv.batch, n, cfg.heads(),
        cfg.kvHeads(), cfg.headDim(), kv.length - n, kv.maxTokens);
  }

  @Override
  public void cachedAttention(KvCache kv, int l, int n) {
    ModelConfig cfg = kv.cfg;
    acc.launch("attention_cached", new int[] {n, cfg.heads(), kv.batch}, ATTENTION_THREADS,
        4 * kv.length, at(kv.attY), at(kv.qkv), at(kv.keys[l]), at(kv.values[l]), slotMask,
        kv.batch, n, cfg.heads(), cfg.kvHeads(), cfg.headDim(), kv.length - n, kv.maxTokens,
        (float) (1.0 / Math.sqrt(cfg.headDim())));
  }
}
