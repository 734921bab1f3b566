package ai.cory.common.model;

/**
 * The CPU backend: today's layer classes (OpenBLAS GEMMs on raw buffers, Vector API row
 * kernels computing in double), with a workspace's row scratch and its vector of ones. The
 * default and the numerical oracle the device backend is compared with.
 */
final class CpuKernels implements Kernels {
  private final Scratch scratch;
  private final Span ones;

  CpuKernels(Scratch scratch, Span ones) {
    this.scratch = scratch;
    this.ones = ones;
  }

  @Override
  public void bind(TokenBatch batch) {
    // host arrays are read in place
  }

  @Override
  public void embedding(Span x, TokenBatch batch, Span tok, Span pos, int n, int c) {
    Embedding.forward(x, batch.tokensFlat(), batch.positionsFlat(), tok, pos, n, c, scratch);
  }

  @Override
  public void embeddingBackward(Span dTok, Span dPos, Span dx, TokenBatch batch, int n, int c) {
    Embedding.backward(dTok, dPos, dx, batch.tokensFlat(), batch.positionsFlat(), n, c, scratch);
  }

  @Override
  public void layerNorm(Span out, Span mean, Span rstd, Span x, Span w, Span b, int n, int c,
      double eps) {
    LayerNorm.forward(out, mean, rstd, x, w, b, n, c, eps, scratch);
  }

  @Override
  public void layerNormBackward(Span dx, Span dw, Span db, Span dout, Span x, Span mean,
      Span rstd, Span w, int n, int c) {
    LayerNorm.backward(dx, dw, db, dout, x, mean, rstd, w, n, c, scratch);
  }

  @Override
  public void rmsNorm(Span out, Span rstd, Span x, Span w, int n, int c, double eps) {
    RmsNorm.forward(out, rstd, x, w, n, c, eps, scratch);
  }

  @Override
  public void rmsNormBackward(Span dx, Span dw, Span dout, Span x, Span rstd, Span w, int n,
      int c) {
    RmsNorm.backward(dx, dw, dout, x, rstd, w, n, c, scratch);
  }

  @Override
  public void linear(Span y, Span x, Matrix w, Span b, int n, int in, int out,
      boolean accumulate) {
    Linear.forward(y, x, w, b, n, in, out, accumulate, ones);
  }

  @Override
  public void linearBackward(Span dx, Matrix dw, Span db, Span dy, Span x, Matrix w, int n,
      int in, int out) {
    Linear.backward(dx, false, dw, db, dy, x, w, n, in, out, ones);
  }

  @Override
  public void lora(Span y, int ldy, Span x, LoraWeights.Adapter[] adapters, int n, int rank,
      double scale) {
    Lora.forward(y, ldy, x, adapters, n, rank, scale);
  }

  @Override
  public void loraBackward(Span dx, Span dy, int ldy, Span x, LoraWeights.Adapter[] adapters,
      LoraWeights.Adapter[] grads, int n, int rank, double scale) {
    Lora.backward(dx, dy, ldy, x, adapters, grads, n, rank, scale);
  }

  @Override
  public void rope(Rope rope, Span x, int n, int width, int heads, TokenBatch batch,
      boolean inverse) {
    rope.apply(x, n, width, 0, heads, batch.positionsFlat(), inverse, scratch);
  }

  @Override
  public void attention(Span y, Span att, Span qkv, TokenBatch batch, Attention.Dims dims) {
    Attention.forward(y, att, qkv, batch.maskFlat(), dims, scratch);
  }

  @Override
  public void attentionBackward(Span dqkv, Span datt, Span dy, Span att, Span qkv,
      Attention.Dims dims) {
    Attention.backward(dqkv, datt, dy, att, qkv, dims, scratch);
  }

  @Override
  public void gelu(Span out, Span x, long n) {
    Gelu.forward(out, x, n, scratch);
  }

  @Override
  public void geluBackward(Span dx, Span dout, Span x, long n) {
    Gelu.backward(dx, dout, x, n, scratch);
  }

  @Override
  public void swiglu(Span act, Span gateUp, int n, int inter) {
    SwiGlu.forward(act, gateUp, n, inter, scratch);
  }

  @Override
  public void swigluBackward(Span dGateUp, Span dAct, Span gateUp, int n, int inter) {
    SwiGlu.backward(dGateUp, dAct, gateUp, n, inter, scratch);
  }

  @Override
  public void valueHead(Span values, Span x, Span w, Span b, int n, int c) {
    Blas.gemv(false, n, c, 1.0, x, 0, c, w, 0, 0.0, values, 0);
    double bias = b.get(0);
    for (int i = 0; i < n; i++) {
      values.set(i, values.get(i) + bias);
    }
  }

  @Override
  public void valueHeadBackward(Span dx, Span dw, Span db, Span dvalues, Span x, Span w, int n,
      int c) {
    Blas.ger(n, c, 1.0, dvalues, 0, w, 0, dx, 0, c);
    if (dw != null) {
      Blas.gemv(true, n, c, 1.0, x, 0, c, dvalues, 0, 1.0, dw, 0);
    }
    if (db != null) {
      double sum = 0;
      for (int i = 0; i < n; i++) {
        sum += dvalues.get(i);
      }
      db.set(0, db.get(0) + sum);
    }
  }

  @Override
  public void gatherRows(Span out, Span src, int[] index, int from, int count, int c) {
    for (int k = 0; k < count; k++) {
      out.copyFrom((long) k * c, src, (long) index[from + k] * c, c);
    }
  }

  @Override
  public void scatterAddRows(Span dst, Span src, int[] index, int from, int count, int c) {
    double[] row = scratch.row(0, 0, c);
    for (int k = 0; k < count; k++) {
      src.read((long) k * c, row, 0, c);
      dst.accumulate((long) index[from + k] * c, row, 0, c);
    }
  }

  @Override
  public void vocabForward(Span z, int vocab, VocabSoftmax.Rows rows, int from, int count,
      Span lse, Span logp, Span entropy, boolean toLogProbs, Span refLogProbs, Span kl) {
    VocabSoftmax.forward(z, vocab, rows, from, count, lse, logp, entropy, toLogProbs, refLogProbs,
        kl, scratch);
  }

  @Override
  public void vocabBackward(Span z, int vocab, VocabSoftmax.Rows rows, int from, int count,
      Span lse, boolean holdsLogProbs, Span dLogp, Span dFull) {
    VocabSoftmax.backward(z, vocab, rows, from, count, lse, holdsLogProbs, dLogp, dFull, scratch);
  }

  @Override
  public void bindCache(KvCache kv) {
    // the slot mask is read in place
  }

  @Override
  public void kvAppend(KvCache kv, int l, int n) {
    CachedForward.appendKeysValues(kv, l, n);
  }

  @Override
  public void cachedAttention(KvCache kv, int l, int n) {
    CachedForward.attend(kv, l, n);
  }
}
