package ai.cory.common.model;

/**
 * The compute backend under the one transformer wiring ({@link Transformer}): every layer
 * operation of a forward and backward pass over {@link Span}s. Two implementations: the CPU
 * kernels ({@link CpuKernels}: OpenBLAS and the Vector API, the default and the numerical
 * oracle) and the device kernels ({@link DeviceKernels}: CUDA C entry points and cuBLAS through
 * an {@link Accelerator}, over device spans). A workspace owns its backend, so a pass's buffers
 * and the kernels that read them always live on the same side.
 *
 * <p>Shapes are those of the CPU layer classes, whose javadoc states each formula; gradients
 * accumulate ({@code +=}) where those say so, and a null gradient buffer means "frozen: skip".
 */
interface Kernels {
  /** Makes {@code batch}'s tokens, positions and mask available to this pass's kernels. */
  void bind(TokenBatch batch);

  /** {@code x (N, C) = tok[tokens] (+ pos[positions])}; see {@link Embedding#forward}. */
  void embedding(Span x, TokenBatch batch, Span tok, Span pos, int n, int c);

  /** {@code dTok[tokens] += dx}, {@code dPos[positions] += dx}; nothing when dTok is null. */
  void embeddingBackward(Span dTok, Span dPos, Span dx, TokenBatch batch, int n, int c);

  void layerNorm(Span out, Span mean, Span rstd, Span x, Span w, Span b, int n, int c,
      double eps);

  /** {@code dx +=}, {@code dw +=}, {@code db +=} (dw, db null: frozen). */
  void layerNormBackward(Span dx, Span dw, Span db, Span dout, Span x, Span mean, Span rstd,
      Span w, int n, int c);

  void rmsNorm(Span out, Span rstd, Span x, Span w, int n, int c, double eps);

  /** {@code dx +=}, {@code dw +=} (dw null: frozen). */
  void rmsNormBackward(Span dx, Span dw, Span dout, Span x, Span rstd, Span w, int n, int c);

  /** {@code y = x W [+ b]}, or {@code y +=} when {@code accumulate}; see {@link Linear}. */
  void linear(Span y, Span x, Matrix w, Span b, int n, int in, int out, boolean accumulate);

  /** {@code dW +=}, {@code db +=} (either null: frozen), {@code dx =} (null: not needed). */
  void linearBackward(Span dx, Matrix dw, Span db, Span dy, Span x, Matrix w, int n, int in,
      int out);

  /** Adds a slot's LoRA adapters to its output; see {@link Lora#forward}. */
  void lora(Span y, int ldy, Span x, LoraWeights.Adapter[] adapters, int n, int rank,
      double scale);

  /** See {@link Lora#backward}: adapter gradients {@code +=}, {@code dx +=} (dx may be null). */
  void loraBackward(Span dx, Span dy, int ldy, Span x, LoraWeights.Adapter[] adapters,
      LoraWeights.Adapter[] grads, int n, int rank, double scale);

  /** Rotates heads {@code [0, heads)} of each row of x (N, width) in place; see {@link Rope}. */
  void rope(Rope rope, Span x, int n, int width, int heads, TokenBatch batch, boolean inverse);

  /** Causal attention with key padding; see {@link Attention#forward}. */
  void attention(Span y, Span att, Span qkv, TokenBatch batch, Attention.Dims dims);

  /** {@code dqkv =} (overwritten); see {@link Attention#backward}. */
  void attentionBackward(Span dqkv, Span datt, Span dy, Span att, Span qkv, Attention.Dims dims);

  void gelu(Span out, Span x, long n);

  void geluBackward(Span dx, Span dout, Span x, long n);

  void swiglu(Span act, Span gateUp, int n, int inter);

  void swigluBackward(Span dGateUp, Span dAct, Span gateUp, int n, int inter);

  /** {@code values (N) = x (N, C) w (C) + b}: the value head (b is one element). */
  void valueHead(Span values, Span x, Span w, Span b, int n, int c);

  /**
   * {@code dx (N, C) +=} {@code dvalues w^T}, {@code dw +=} {@code x^T dvalues}, {@code db +=}
   * {@code sum dvalues} (dw, db null: frozen).
   */
  void valueHeadBackward(Span dx, Span dw, Span db, Span dvalues, Span x, Span w, int n, int c);

  /** {@code out (count, C)}: row k is row {@code index[from + k]} of {@code src}. */
  void gatherRows(Span out, Span src, int[] index, int from, int count, int c);

  /** Row {@code index[from + k]} of {@code dst} {@code +=} row k of {@code src} (distinct rows). */
  void scatterAddRows(Span dst, Span src, int[] index, int from, int count, int c);

  /** The fused vocabulary pass over one block of head rows; see {@link VocabSoftmax#forward}. */
  void vocabForward(Span z, int vocab, VocabSoftmax.Rows rows, int from, int count, Span lse,
      Span logp, Span entropy, boolean toLogProbs, Span refLogProbs, Span kl);

  /** The block's logits (or log-probs) replaced by their gradient; {@link VocabSoftmax#backward}. */
  void vocabBackward(Span z, int vocab, VocabSoftmax.Rows rows, int from, int count, Span lse,
      boolean holdsLogProbs, Span dLogp, Span dFull);

  /** Makes the cache's slot mask available to {@link #cachedAttention}; once per chunk. */
  void bindCache(KvCache kv);

  /**
   * Appends the chunk's keys and values (the k and v parts of rows {@code b * n + i} of
   * {@code kv.qkv}) to layer l's caches at slots {@code [kv.length - n, kv.length)}.
   */
  void kvAppend(KvCache kv, int l, int n);

  /**
   * {@code kv.attY} (B*n, HD): the chunk's query of row (b, i) attends to layer l's cached slots
   * up to its own whose slot mask is 1; see {@link CachedForward}.
   */
  void cachedAttention(KvCache kv, int l, int n);
}
