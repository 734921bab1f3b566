package ai.cory.common.model;

import java.util.Objects;

/**
 * A model's trunk (embeddings, every block, the final norm) run by the one transformer wiring on
 * a chosen backend: the host (the CPU kernels over the model's own buffers) or an
 * {@link Accelerator} (weights, adapters and a gradient buffer copied to device memory once,
 * in the host layout, then device kernels with nothing crossing back but what is asked for).
 * The GPU check runs the same pass on both and compares hidden states and every trainable
 * gradient, LoRA included; it is also the engine's entry point for device work until the
 * vocabulary head and sampling move there.
 */
public final class TrunkPass {
  private final CausalLm lm;
  private final Weights w;
  private final LoraWeights lw;
  private final Weights g;         // null unless training
  private final LoraWeights lg;
  private final Span grads;        // the whole trainable gradient buffer, null unless training
  private final Workspace ws;
  private TokenBatch last;

  private TrunkPass(CausalLm lm, Weights w, LoraWeights lw, Weights g, LoraWeights lg, Span grads,
      Workspace ws) {
    this.lm = lm;
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
  public static TrunkPass onHost(CausalLm lm, int maxBatch, int maxSeq, boolean training) {
    Workspace ws = lm.newWorkspace(maxBatch, maxSeq, training, false);
    if (!training) {
      return new TrunkPass(lm, lm.weights(), lm.adapters(), null, null, null, ws);
    }
    lm.zeroGrad();
    return new TrunkPass(lm, lm.weights(), lm.adapters(), lm.gradWeights(), lm.gradAdapters(),
        lm.grads().span(), ws);
  }

  /**
   * On {@code acc}: copies the (float32) weights and adapters to device memory and, when
   * {@code training}, allocates a zero gradient buffer there in the layout of {@link
   * CausalLm#grads()}. A quantised base is refused by name (not resident on the device yet).
   */
  public static TrunkPass on(Accelerator acc, CausalLm lm, int maxBatch, int maxSeq,
      boolean training) {
    Objects.requireNonNull(acc, "acc");
    DeviceCopy up = new DeviceCopy(acc, false);
    Weights w = lm.weights().map(up);
    LoraWeights lw = lm.adapters() == null ? null : new LoraWeights(lm.adapters(), up);
    Workspace ws = Workspace.onDevice(acc, lm.config(), maxBatch, maxSeq, training);
    if (!training) {
      return new TrunkPass(lm, w, lw, null, null, null, ws);
    }
    DeviceCopy zeros = new DeviceCopy(acc, true);
    Span grads = zeros.apply(lm.grads().span());
    Weights g = lm.gradWeights().map(zeros);
    LoraWeights lg = lm.gradAdapters() == null ? null : new LoraWeights(lm.gradAdapters(), zeros);
    return new TrunkPass(lm, w, lw, g, lg, grads, ws);
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
   * Backward from {@code dHidden} = dL/d(final norm output) (N, C) of the last {@link #forward},
   * accumulating into the gradient buffer.
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
