package ai.cory.common.model;

import java.util.Objects;

/**
 * A model's forward and backward (embeddings, every block, the final norm, then the value head
 * and the fused vocabulary head) run by the one wiring on a chosen backend: the host (the CPU
 * kernels over the model's own buffers) or an {@link Accelerator} (weights, adapters and a
 * gradient buffer copied to device memory once, in the host layout, then device kernels with
 * nothing crossing back but what is asked for: the per-token statistics, the gradients). The
 * trunk alone ({@link #run}, {@link #backward(float[])}) serves benchmarks and comparisons of
 * the hidden states; {@link #score} and {@link #backward(float[], float[])} are
 * {@link CausalLm#forward} and {@link CausalLm#backward} with float arrays in place of INDArrays.
 * The GPU check runs the same pass on both backends and compares every output and trainable
 * gradient, LoRA included, and the device pass against the PyTorch goldens.
 */
public final class ModelPass {
  private final CausalLm lm;
  private final Accelerator acc;   // null on the host
  private final Weights w;
  private final LoraWeights lw;
  private final Weights g;         // null unless training
  private final LoraWeights lg;
  private final Span grads;        // the whole trainable gradient buffer, null unless training
  private final Workspace ws;
  private TokenBatch last;
  private KvCache cache;           // greedy's, kept for the next call of the same shape
  private ForwardOptions scored;   // the options of the last score, null after a trunk-only run

  private ModelPass(CausalLm lm, Accelerator acc, Weights w, LoraWeights lw, Weights g, LoraWeights lg, Span grads,
      Workspace ws) {
    this.lm = lm;
    this.acc = acc;
    this.w = w;
    this.lw = lw;
    this.g = g;
    this.lg = lg;
    this.grads = grads;
    this.ws = ws;
  }

  /**
   * On the host: reads the model's weights in place and accumulates into its {@link
   * CausalLm#grads()} (zeroed here) when {@code training}.
   */
  public static ModelPass onHost(CausalLm lm, int maxBatch, int maxSeq, boolean training) {
    Workspace ws = lm.newWorkspace(maxBatch, maxSeq, training, false);
    if (!training) {
      return new ModelPass(lm, null, lm.weights(), lm.adapters(), null, null, null, ws);
    }
    lm.zeroGrad();
    return new ModelPass(lm, null, lm.weights(), lm.adapters(), lm.gradWeights(),
        lm.gradAdapters(), lm.grads().span(), ws);
  }

  /**
   * On {@code acc}: copies the (float32) weights and adapters to device memory and, when
   * {@code training}, allocates a zero gradient buffer there in the layout of {@link
   * CausalLm#grads()}. A quantised base's matrices go up packed (dequantised tile by tile in
   * each GEMM).
   */
  public static ModelPass on(Accelerator acc, CausalLm lm, int maxBatch, int maxSeq,
      boolean training) {
    Objects.requireNonNull(acc, "acc");
    DeviceCopy up = new DeviceCopy(acc, false);
    Weights w = lm.weights().map(up);
    LoraWeights lw = lm.adapters() == null ? null : new LoraWeights(lm.adapters(), up);
    Workspace ws = Workspace.onDevice(acc, lm.config(), maxBatch, maxSeq, training);
    if (!training) {
      return new ModelPass(lm, acc, w, lw, null, null, null, ws);
    }
    DeviceCopy zeros = new DeviceCopy(acc, true);
    Span grads = zeros.apply(lm.grads().span());
    Weights g = lm.gradWeights().map(zeros);
    LoraWeights lg = lm.gradAdapters() == null ? null : new LoraWeights(lm.gradAdapters(), zeros);
    return new ModelPass(lm, acc, w, lw, g, lg, grads, ws);
  }

  /** Forward of {@code batch} and the final norm's output (N, C), N = batch x seq, as floats. */
  public float[] forward(TokenBatch batch) {
    run(batch);
    return hidden();
  }

  /** Forward of {@code batch}, leaving its activations where they are (no copy back). */
  public void run(TokenBatch batch) {
    if (batch.batch() > ws.maxBatch || batch.seq() > ws.maxSeq) {
      throw new IllegalArgumentException(batch + " exceeds the pass's " + ws.maxBatch + " x "
          + ws.maxSeq);
    }
    lm.transformer().forwardTrunk(w, lw, ws, batch);
    last = batch;
    scored = null;
  }

  /** What {@link #score} returns, row-major over the batch; null where not asked for. */
  public record Scores(float[] logp, float[] lse, float[] entropy, float[] values) {
    // logp (B, T-1) taken-token log-probs (0 outside the computed columns), lse (B, T)
    // log-sum-exp of the computed columns, entropy (B, T), values (B, T)
  }

  /**
   * Forward of {@code batch} through the trunk and the heads as {@link CausalLm#forward} with
   * {@code opt} (no full-vocabulary block returned, no KL).
   */
  public Scores score(TokenBatch batch, ForwardOptions opt) {
    if (opt.toCol() > batch.seq()) {
      throw new IllegalArgumentException("columns [" + opt.fromCol() + ", " + opt.toCol()
          + ") exceed the sequence length " + batch.seq());
    }
    if (opt.vocab() != ForwardOptions.Vocab.NONE) {
      throw new IllegalArgumentException("a pass returns per-token statistics, not the "
          + "vocabulary block");
    }
    batch.validate(lm.config());
    run(batch);
    LmHead.forward(w, ws, batch, opt, null);
    scored = opt;
    int bsz = batch.batch();
    int t = batch.seq();
    int n = bsz * t;
    return new Scores(floats(ws.logp, (long) bsz * (t - 1)), floats(ws.lse, n),
        opt.entropy() ? floats(ws.entropy, n) : null, opt.values() ? floats(ws.values, n) : null);
  }

  private static float[] floats(Span s, long n) {
    float[] out = new float[Math.toIntExact(n)];
    s.readFloats(0, out, 0, out.length);
    return out;
  }

  /**
   * Backward of the last {@link #score} from the gradients of its outputs, as {@link
   * CausalLm#backward}: {@code dLogp} (B, T-1) (entries outside the computed columns are
   * ignored), {@code dValues} (B, T) or null; accumulates into the gradient buffer.
   */
  public void backward(float[] dLogp, float[] dValues) {
    if (g == null || scored == null) {
      throw new IllegalStateException(g == null ? "not a training pass" : "no score yet");
    }
    int bsz = last.batch();
    int t = last.seq();
    if (dLogp.length != bsz * (t - 1)) {
      throw new IllegalArgumentException(dLogp.length + " log-prob gradients for a " + bsz
          + " x " + (t - 1) + " grid");
    }
    ws.dlogp.writeFloats(0, dLogp, 0, dLogp.length);
    if (scored.values()) {
      if (dValues == null) {
        ws.dvalues.zero(0, (long) bsz * t);
      } else if (dValues.length != bsz * t) {
        throw new IllegalArgumentException(dValues.length + " value gradients for a " + bsz
            + " x " + t + " grid");
      } else {
        ws.dvalues.writeFloats(0, dValues, 0, dValues.length);
      }
    } else if (dValues != null) {
      throw new IllegalArgumentException("dValues given but the score computed no values");
    }
    LmHead.backward(w, g, ws, last, scored, null);
    scored = null; // the logits block now holds its gradient
    lm.transformer().backwardTrunk(w, g, lw, lg, ws, last);
  }

  /** The last forward's final norm output (N, C) as floats. */
  public float[] hidden() {
    if (last == null) {
      throw new IllegalStateException("no forward yet");
    }
    int n = last.batch() * last.seq() * lm.config().hidden();
    float[] out = new float[n];
    ws.normF.readFloats(0, out, 0, n);
    return out;
  }

  /**
   * Backward of the trunk from {@code dHidden} = dL/d(final norm output) (N, C) of the last
   * {@link #forward}, accumulating into the gradient buffer.
   */
  public void backward(float[] dHidden) {
    if (g == null || last == null) {
      throw new IllegalStateException(g == null ? "not a training pass" : "no forward yet");
    }
    int n = last.batch() * last.seq() * lm.config().hidden();
    if (dHidden.length != n) {
      throw new IllegalArgumentException(dHidden.length + " gradients for " + n + " outputs");
    }
    ws.dnormF.writeFloats(0, dHidden, 0, n);
    backwardAgain();
  }

  /**
   * Backward of the last forward from the upstream gradient the last {@link #backward} left in
   * the workspace (the trunk reads it, never writes it): benchmarks time the pass alone.
   */
  public void backwardAgain() {
    if (g == null || last == null) {
      throw new IllegalStateException(g == null ? "not a training pass" : "no forward yet");
    }
    lm.transformer().backwardTrunk(w, g, lw, lg, ws, last);
  }

  /**
   * Greedy KV-cache generation on this pass's backend: prefills the left-padded prompts (as
   * {@link CausalLm#prefill}), then {@code steps} times takes each row's first index of the
   * largest logit (the CPU sampler's greedy rule) and decodes it. Each step's (B, V) logits
   * come to the host for the choice (the device sampler is not in the loop yet). The cache is
   * allocated at the first call (on a device, from the pass's arena) and kept for the next
   * calls of the same batch and no more slots.
   *
   * @param mask (B, P) 1 real / 0 padding, or null
   * @return (B, steps) the new tokens
   */
  public int[][] greedy(int[][] prompts, int[][] mask, int steps) {
    if (prompts.length == 0 || steps < 1) {
      throw new IllegalArgumentException("greedy needs prompts and at least one step");
    }
    int bsz = prompts.length;
    int vocab = lm.config().vocabSize();
    int slots = prompts[0].length + steps;
    if (cache == null || cache.batch != bsz || cache.maxTokens < slots) {
      cache = acc == null ? lm.newKvCache(bsz, slots)
          : KvCache.onDevice(acc, lm.config(), bsz, slots);
    }
    KvCache kv = cache;
    CachedForward f = new CachedForward(lm.config(), lm.transformer(), w, lw);
    f.prefill(kv, prompts, mask);
    int[][] out = new int[bsz][steps];
    float[] logits = new float[bsz * vocab];
    int[] next = new int[bsz];
    for (int s = 0; s < steps; s++) {
      kv.logits.readFloats(0, logits, 0, logits.length);
      for (int b = 0; b < bsz; b++) {
        int best = b * vocab;
        for (int v = best + 1; v < (b + 1) * vocab; v++) {
          if (logits[v] > logits[best]) {
            best = v;
          }
        }
        next[b] = best - b * vocab;
        out[b][s] = next[b];
      }
      if (s + 1 < steps) {
        f.decode(kv, next);
      }
    }
    return out;
  }

  /** The trainable gradient buffer as floats, in {@link CausalLm#grads()}'s layout. */
  public float[] gradients() {
    if (grads == null) {
      throw new IllegalStateException("not a training pass");
    }
    float[] out = new float[Math.toIntExact(grads.length)];
    grads.readFloats(0, out, 0, out.length);
    return out;
  }
}
