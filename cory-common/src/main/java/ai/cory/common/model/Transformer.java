package ai.cory.common.model;

/**
 * The GPT-2 / Llama wiring of the layers over a {@link Workspace}, llm.c style, written once for
 * every backend: each layer is a call on the workspace's {@link Kernels} (CPU or device), so the
 * same wiring runs on host or device spans. Forward caches what backward reads, backward walks the blocks in reverse accumulating into the gradient
 * buffer. Residual adds are fused into the output-projection GEMMs (beta = 1 on a copy of the
 * block input, or in place in inference where nothing is kept).
 *
 * <pre>
 * GPT-2 block: x1 = x + proj(attn(LN1(x)));  x2 = x1 + fc2(gelu_new(fc(LN2(x1))))
 * Llama block: x1 = x + o(attn(rope(qkv(RMS1(x)))));  x2 = x1 + down(silu(gate) * up)(RMS2(x1))
 * </pre>
 */
final class Transformer {
  private final ModelConfig cfg;
  private final boolean gpt2;
  private final Rope rope; // Llama only

  Transformer(ModelConfig cfg) {
    this.cfg = cfg;
    this.gpt2 = cfg.arch() == ModelConfig.Arch.GPT2;
    this.rope = gpt2 ? null : new Rope(cfg.maxPositions(), cfg.headDim(), cfg.ropeTheta());
  }

  Rope rope() {
    return rope;
  }

  /**
   * Embeddings, every block and the final norm: fills {@code ws.normF} (N, C).
   *
   * @param lw the LoRA adapters added to the projections, or null
   */
  void forwardTrunk(Weights w, LoraWeights lw, Workspace ws, TokenBatch batch) {
    int n = batch.batch() * batch.seq();
    int c = cfg.hidden();
    ws.kernels.bind(batch);
    ws.kernels.embedding(ws.resid[0], batch, w.tokEmb, w.posEmb, n, c);
    Attention.Dims dims = new Attention.Dims(batch.batch(), batch.seq(), cfg.heads(),
        cfg.kvHeads(), cfg.headDim());
    for (int l = 0; l < cfg.layers(); l++) {
      forwardBlock(w.layers[l], lw, l, ws.layer(l), ws.resid[2 * l], ws.resid[2 * l + 1],
          ws.resid[2 * l + 2], batch, dims, ws);
    }
    norm(ws.normF, ws.meanF, ws.rstdF, ws.resid[2 * cfg.layers()], w.normFW, w.normFB, n, ws);
  }

  private void forwardBlock(Weights.Layer w, LoraWeights lw, int l, Workspace.LayerActs a, Span x,
      Span mid, Span out, TokenBatch batch, Attention.Dims dims, Workspace ws) {
    int n = batch.batch() * batch.seq();
    int c = cfg.hidden();
    int hd = dims.outWidth();
    int w3 = dims.width();
    Kernels k = ws.kernels;
    norm(a.norm1(), a.mean1(), a.rstd1(), x, w.norm1W(), w.norm1B(), n, ws);
    k.linear(a.qkv(), a.norm1(), w.qkvW(), w.qkvB(), n, c, w3, false);
    adapt(k, lw, l, ParamLayout.Slot.QKV, a.qkv(), w3, a.norm1(), n);
    if (!gpt2) {
      k.rope(rope, a.qkv(), n, w3, cfg.heads() + cfg.kvHeads(), batch, false);
    }
    k.attention(a.attY(), a.att(), a.qkv(), batch, dims);
    copyRows(mid, x, (long) n * c);
    k.linear(mid, a.attY(), w.projW(), w.projB(), n, hd, c, true);
    adapt(k, lw, l, ParamLayout.Slot.PROJ, mid, c, a.attY(), n);
    norm(a.norm2(), a.mean2(), a.rstd2(), mid, w.norm2W(), w.norm2B(), n, ws);
    int f1 = gpt2 ? cfg.intermediate() : 2 * cfg.intermediate();
    int f2 = cfg.intermediate();
    k.linear(a.mlpIn(), a.norm2(), w.fcW(), w.fcB(), n, c, f1, false);
    adapt(k, lw, l, ParamLayout.Slot.FC, a.mlpIn(), f1, a.norm2(), n);
    if (gpt2) {
      k.gelu(a.mlpAct(), a.mlpIn(), (long) n * f1);
    } else {
      k.swiglu(a.mlpAct(), a.mlpIn(), n, f2);
    }
    copyRows(out, mid, (long) n * c);
    k.linear(out, a.mlpAct(), w.fc2W(), w.fc2B(), n, f2, c, true);
    adapt(k, lw, l, ParamLayout.Slot.FC2, out, c, a.mlpAct(), n);
  }

  private static void adapt(Kernels k, LoraWeights lw, int l, ParamLayout.Slot slot, Span y,
      int width, Span x, int n) {
    if (lw != null) {
      k.lora(y, width, x, lw.at(l, slot), n, lw.rank, lw.scale);
    }
  }

  private static void adaptBackward(Kernels k, LoraWeights lw, LoraWeights lg, int l,
      ParamLayout.Slot slot, Span dx, Span dy, int width, Span x, int n) {
    if (lw != null) {
      k.loraBackward(dx, dy, width, x, lw.at(l, slot), lg.at(l, slot), n, lw.rank, lw.scale);
    }
  }

  /**
   * Backward through the final norm, every block and the embeddings, from {@code ws.dnormF}
   * (N, C), accumulating into {@code g} (null entries: frozen) and the adapters' gradients
   * {@code lg}.
   */
  void backwardTrunk(Weights w, Weights g, LoraWeights lw, LoraWeights lg, Workspace ws,
      TokenBatch batch) {
    int n = batch.batch() * batch.seq();
    int c = cfg.hidden();
    ws.kernels.bind(batch);
    ws.dres.zero(0, (long) n * c);
    normBackward(ws.dres, g.normFW, g.normFB, ws.dnormF, ws.resid[2 * cfg.layers()], ws.meanF,
        ws.rstdF, w.normFW, n, ws);
    Attention.Dims dims = new Attention.Dims(batch.batch(), batch.seq(), cfg.heads(),
        cfg.kvHeads(), cfg.headDim());
    for (int l = cfg.layers() - 1; l >= 0; l--) {
      if (ws.recompute) { // activation recomputation: this block's activations again, from its input
        forwardBlock(w.layers[l], lw, l, ws.layer(l), ws.resid[2 * l], ws.resid[2 * l + 1],
            ws.resid[2 * l + 2], batch, dims, ws);
      }
      // frozen embeddings (LoRA) take no gradient: the first block's input gradient is not needed
      backwardBlock(w.layers[l], g.layers[l], lw, lg, l, ws.layer(l), ws.resid[2 * l],
          ws.resid[2 * l + 1], batch, dims, ws, l > 0 || g.tokEmb != null);
    }
    ws.kernels.embeddingBackward(g.tokEmb, g.posEmb, ws.dres, batch, n, c);
  }

  /** On entry {@code ws.dres} = dL/d(block output); on exit dL/d(block input). */
  private void backwardBlock(Weights.Layer w, Weights.Layer g, LoraWeights lw, LoraWeights lg,
      int l, Workspace.LayerActs a, Span x, Span mid, TokenBatch batch, Attention.Dims dims,
      Workspace ws, boolean inputGradient) {
    int n = batch.batch() * batch.seq();
    int c = cfg.hidden();
    int hd = dims.outWidth();
    int w3 = dims.width();
    int f1 = gpt2 ? cfg.intermediate() : 2 * cfg.intermediate();
    int f2 = cfg.intermediate();
    Kernels k = ws.kernels;
    // MLP
    k.linearBackward(ws.dmlpAct, g.fc2W(), g.fc2B(), ws.dres, a.mlpAct(), w.fc2W(), n, f2, c);
    adaptBackward(k, lw, lg, l, ParamLayout.Slot.FC2, ws.dmlpAct, ws.dres, c, a.mlpAct(), n);
    if (gpt2) {
      k.geluBackward(ws.dmlpIn, ws.dmlpAct, a.mlpIn(), (long) n * f1);
    } else {
      k.swigluBackward(ws.dmlpIn, ws.dmlpAct, a.mlpIn(), n, f2);
    }
    k.linearBackward(ws.dnorm, g.fcW(), g.fcB(), ws.dmlpIn, a.norm2(), w.fcW(), n, c, f1);
    adaptBackward(k, lw, lg, l, ParamLayout.Slot.FC, ws.dnorm, ws.dmlpIn, f1, a.norm2(), n);
    normBackward(ws.dres, g.norm2W(), g.norm2B(), ws.dnorm, mid, a.mean2(), a.rstd2(), w.norm2W(),
        n, ws);
    // attention
    k.linearBackward(ws.dattY, g.projW(), g.projB(), ws.dres, a.attY(), w.projW(), n, hd, c);
    adaptBackward(k, lw, lg, l, ParamLayout.Slot.PROJ, ws.dattY, ws.dres, c, a.attY(), n);
    k.attentionBackward(ws.dqkv, ws.datt, ws.dattY, a.att(), a.qkv(), dims);
    if (!gpt2) {
      k.rope(rope, ws.dqkv, n, w3, cfg.heads() + cfg.kvHeads(), batch, true);
    }
    Span dnorm1 = inputGradient || g.norm1W() != null ? ws.dnorm : null;
    k.linearBackward(dnorm1, g.qkvW(), g.qkvB(), ws.dqkv, a.norm1(), w.qkvW(), n, c, w3);
    adaptBackward(k, lw, lg, l, ParamLayout.Slot.QKV, dnorm1, ws.dqkv, w3, a.norm1(), n);
    if (dnorm1 != null) {
      normBackward(ws.dres, g.norm1W(), g.norm1B(), ws.dnorm, x, a.mean1(), a.rstd1(), w.norm1W(),
          n, ws);
    }
  }

  private void norm(Span out, Span mean, Span rstd, Span x, Span w, Span b, int n, Workspace ws) {
    norm(ws.kernels, out, mean, rstd, x, w, b, n);
  }

  /** LayerNorm (GPT-2) or RMSNorm (Llama; mean and b unused) of n rows on {@code k}. */
  void norm(Kernels k, Span out, Span mean, Span rstd, Span x, Span w, Span b, int n) {
    if (gpt2) {
      k.layerNorm(out, mean, rstd, x, w, b, n, cfg.hidden(), cfg.normEps());
    } else {
      k.rmsNorm(out, rstd, x, w, n, cfg.hidden(), cfg.normEps());
    }
  }

  private void normBackward(Span dx, Span dw, Span db, Span dout, Span x, Span mean, Span rstd,
      Span w, int n, Workspace ws) {
    if (gpt2) {
      ws.kernels.layerNormBackward(dx, dw, db, dout, x, mean, rstd, w, n, cfg.hidden());
    } else {
      ws.kernels.rmsNormBackward(dx, dw, dout, x, rstd, w, n, cfg.hidden());
    }
  }

  /** dst[0..n) = src[0..n) unless they are the same memory (inference works in place). */
  private static void copyRows(Span dst, Span src, long n) {
    if (!dst.sameStart(src)) {
      dst.copyFrom(0, src, 0, n);
    }
  }
}
