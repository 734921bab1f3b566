package ai.cory.common.model;

import ai.cory.common.io.FileSource;
import ai.cory.common.sampling.SamplingBatch;
import ai.cory.common.sampling.SamplingParams;
import java.io.IOException;
import java.util.Arrays;
import java.util.Objects;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A GPT-2 or Llama causal language model with a TRL-style value head, written by hand on one
 * flat parameter buffer: forward for batches of padded sequences (per-token log-probs of the
 * requested columns, optional full-vocabulary log-probs, entropies and values), the exact
 * backward pass into a gradient buffer of the same layout, and KV-cache generation primitives.
 *
 * <p>Typical PPO use:
 * <pre>{@code
 * Workspace ws = lm.newWorkspace(8, 128, true, false);
 * ForwardResult out =
 *     lm.forward(ws, TokenBatch.of(ids, mask), ForwardOptions.logprobsAndValues(q, 128));
 * lm.zeroGrad();
 * lm.backward(ws, dLogp, null, dValues);   // lm.grads() now holds the gradient
 * }</pre>
 * Not thread-safe; use one instance (and its workspaces) from one thread at a time.
 */
public final class CausalLm {
  private final ModelConfig cfg;
  private final Parameters params;      // the trainable buffer: whole model, or adapters + value head
  private final Weights weights;        // what forward reads (a LoRA agent: the base's, own value head)
  private final Transformer transformer;
  private final CausalLm base;          // a LoRA agent's frozen base, else null
  private final LoraWeights adapters;   // a LoRA agent's adapters, else null
  private final Matrix[][] packed;      // a packed base's projection matrices [layer][slot], else null
  private Parameters grads;   // allocated on first use: frozen reference models never need one
  private Weights gradWeights;
  private LoraWeights gradAdapters;
  private CachedForward cached;
  private DeviceResidency device; // placed on a device (placeOn), else null

  private CausalLm(Parameters params) {
    this.cfg = params.layout().config();
    if (params.layout().isAdapters()) {
      throw new IllegalArgumentException("an adapter buffer needs its base: use withAdapters");
    }
    this.params = params;
    this.weights = new Weights(params);
    this.transformer = new Transformer(cfg);
    this.base = null;
    this.adapters = null;
    this.packed = null;
  }

  /** A LoRA agent over {@code base} (shared, never written) with its own adapters and value head. */
  private CausalLm(CausalLm base, Parameters adapterParams) {
    this.cfg = base.cfg;
    this.params = adapterParams;
    this.adapters = new LoraWeights(adapterParams);
    this.weights = base.weights.withValueHead(adapters.valueW, adapters.valueB);
    this.transformer = base.transformer;
    this.base = base;
    this.packed = null;
  }

  /** A frozen base whose projections are packed; {@code rest} holds every other tensor. */
  private CausalLm(Parameters rest, Matrix[][] packed) {
    this.cfg = rest.layout().config();
    this.params = rest;
    this.weights = new Weights(rest, packed);
    this.transformer = new Transformer(cfg);
    this.base = null;
    this.adapters = null;
    this.packed = packed;
  }

  /** A frozen base from its packed projections and the buffer of everything else ({@link FrozenBase}). */
  static CausalLm packedBase(Parameters rest, Matrix[][] packed) {
    return new CausalLm(rest, packed);
  }

  /**
   * A LoRA agent on this model as its frozen, shared base: fresh adapters (PEFT's init, A seeded,
   * B zero, so the agent starts as exactly this model) and a fresh value head, both from
   * {@code seed}. Only the adapters and the value head are trainable ({@link #params()}).
   */
  public CausalLm withAdapters(LoraSpec spec, long seed) {
    Parameters p = Parameters.zeros(ParamLayout.adapters(cfg, spec.forArch(cfg.arch())), dataType());
    p.initRandom(seed);
    return withAdapters(p);
  }

  /** A LoRA agent on this model as its base, over existing adapters (aliased, not copied). */
  public CausalLm withAdapters(Parameters adapterParams) {
    if (base != null) {
      throw new IllegalStateException("adapters go on a base model, not on another agent");
    }
    if (!adapterParams.layout().isAdapters() || !adapterParams.layout().config().equals(cfg)
        || adapterParams.dataType() != dataType()) {
      throw new IllegalArgumentException("adapters of layout " + adapterParams.layout().lora() + " "
          + adapterParams.dataType() + " for " + adapterParams.layout().config()
          + " do not fit this " + dataType() + " " + cfg);
    }
    return new CausalLm(this, adapterParams);
  }

  /** The frozen base of a LoRA agent (its adapters disabled: CORY's reference), null otherwise. */
  public CausalLm base() {
    return base;
  }

  /** The LoRA spec of an agent with adapters, null for a whole model. */
  public LoraSpec lora() {
    return params.layout().lora();
  }

  /**
   * The merged model of a LoRA agent, {@code W + (alpha / r) B A} for every adapted projection,
   * as a whole model's buffer with the agent's value head (a packed base is dequantised): what
   * PEFT's {@code merge_and_unload} gives, to export or to serve without adapters.
   */
  public Parameters merged() {
    if (base == null) {
      throw new IllegalStateException("only a LoRA agent has adapters to merge");
    }
    paramsToRead(); // a placed agent's adapters stepped on the device come down first
    return LoraMerge.merged(cfg, base.params, base.weights, base.packed != null, params,
        adapters, lora());
  }

  /** True if the projection matrices are stored packed (a quantised frozen base, or an agent on one). */
  public boolean hasPackedBase() {
    return base != null ? base.packed != null : packed != null;
  }

  /** A model over existing parameters (aliased, not copied). */
  public static CausalLm of(Parameters params) {
    return new CausalLm(Objects.requireNonNull(params, "params"));
  }

  /**
   * Loads a Hugging Face model directory; see {@link HfCheckpoint#load}.
   *
   * @param valueHeadSeed seed of the fresh value head when the checkpoint has none
   */
  public static CausalLm load(FileSource dir, DataType dataType,
      long valueHeadSeed) throws IOException {
    return HfCheckpoint.load(dir, dataType, valueHeadSeed);
  }

  /** A model with seeded random weights ({@link Parameters#initRandom}). */
  public static CausalLm random(ModelConfig cfg, DataType dataType, long seed) {
    Parameters p = Parameters.zeros(ParamLayout.of(cfg), dataType);
    p.initRandom(seed);
    return new CausalLm(p);
  }

  /** Shape of the model. */
  public ModelConfig config() {
    return cfg;
  }

  /**
   * The trainable weights (flat buffer with named views): the whole model and value head, or a
   * LoRA agent's adapters and value head. A packed base's buffer holds every tensor but the
   * packed projections.
   */
  public Parameters params() {
    if (device != null) { // newer device values down; the caller may change them: up again
      device.paramsHandedOut(params);
    }
    return params;
  }

  /**
   * The trainable weights to read, not to change (checksums, checkpoints, export): as {@link
   * #params()}, brought down from a device when an optimizer step there made them newer, but the
   * device copy stays current, so the next pass uploads nothing.
   */
  public Parameters paramsToRead() {
    if (device != null) {
      device.paramsRead(params);
    }
    return params;
  }

  /** Adam with its moments on this placed model's device ({@link DeviceAdam}). */
  public DeviceAdam deviceAdam() {
    if (device == null || device.trainable() == null) {
      throw new IllegalStateException("Adam on a device needs a trainable model placed there");
    }
    return new DeviceAdam(device, params, grads());
  }

  /**
   * Runs this model's passes on {@code acc} from now on: the weights (a packed base packed) and
   * adapters go to device memory once (a LoRA agent's base first, shared by every agent on it),
   * workspaces and KV caches from {@link #newWorkspace} and {@link #newKvCache} are made there,
   * and forward / backward / prefill / decode keep taking and returning host arrays. After
   * {@link #params()} was handed out the next pass uploads them first; after an Adam step on the
   * device ({@link #deviceAdam}) {@link #params()} brings them down; backward accumulates on the
   * device and {@link #grads()} brings the gradient down. FLOAT only.
   */
  public void placeOn(Accelerator acc) {
    Objects.requireNonNull(acc, "acc");
    if (device != null) {
      if (device.acc != acc) {
        throw new IllegalStateException("already placed on another device");
      }
      return;
    }
    if (dataType() != DataType.FLOAT) {
      throw new IllegalArgumentException("the device runs float32 models; this one is "
          + dataType() + " (cory.model.dtype = float32)");
    }
    if (base != null) {
      base.placeOn(acc);
      device = DeviceResidency.agent(acc, base.device, adapters, params);
    } else {
      device = DeviceResidency.of(acc, weights, params, packed != null);
    }
    cached = null;
  }

  /** True once {@link #placeOn} put this model's passes on a device. */
  public boolean onDevice() {
    return device != null;
  }

  /** The gradient buffer (same layout as {@link #params()}), allocated zero on first call. */
  public Parameters grads() {
    hostGrads();
    if (device != null) {
      device.syncGrads(grads);
    }
    return grads;
  }

  private void hostGrads() {
    if (grads == null) {
      if (packed != null) {
        throw new IllegalStateException("a packed base is frozen: train LoRA adapters on it");
      }
      grads = params.zerosLike();
      if (adapters != null) {
        gradAdapters = new LoraWeights(grads);
        gradWeights = Weights.valueHeadOnly(cfg.layers(), weights.outIn, gradAdapters.valueW,
            gradAdapters.valueB);
      } else {
        gradWeights = new Weights(grads);
      }
    }
  }

  /** Sets every gradient to zero. */
  public void zeroGrad() {
    hostGrads();
    grads.zero();
    if (device != null) {
      device.zeroGrads();
    }
  }

  /** FLOAT or DOUBLE. */
  public DataType dataType() {
    return params.dataType();
  }

  /**
   * Buffers for forward passes of up to {@code maxBatch x maxSeq} tokens.
   *
   * @param training  keep activations for {@link #backward}
   * @param fullVocab allow returning the whole (rows, V) logits / log-probs block (always allowed
   *                  for training workspaces)
   */
  public Workspace newWorkspace(int maxBatch, int maxSeq, boolean training, boolean fullVocab) {
    return newWorkspace(maxBatch, maxSeq, training, fullVocab, false);
  }

  /**
   * As {@link #newWorkspace(int, int, boolean, boolean)}; with {@code recompute} a training
   * workspace keeps only each block's input and backward recomputes the block's activations
   * (one more forward of compute, one block's activations of memory instead of every block's).
   */
  public Workspace newWorkspace(int maxBatch, int maxSeq, boolean training, boolean fullVocab,
      boolean recompute) {
    if (maxSeq > cfg.maxPositions()) {
      throw new IllegalArgumentException("maxSeq " + maxSeq + " exceeds the model's "
          + cfg.maxPositions() + " positions");
    }
    return device != null
        ? Workspace.onDevice(device.acc, cfg, maxBatch, maxSeq, training, fullVocab, recompute)
        : new Workspace(cfg, dataType(), maxBatch, maxSeq, training, fullVocab, recompute);
  }

  /** Forward pass; see {@link ForwardOptions} and {@link ForwardResult}. */
  public ForwardResult forward(Workspace ws, TokenBatch batch, ForwardOptions opt) {
    return forward(ws, batch, opt, null);
  }

  /**
   * Forward pass that also computes, for every computed column, the exact KL divergence
   * {@code sum_v p(v) (log p(v) - log q(v))} of this model's next-token distribution p from a
   * reference distribution q, without materialising this model's (rows, V) log-probs: the
   * reference's block (from a forward with {@link ForwardOptions.Vocab#LOG_PROBS} on the same
   * batch and columns) is read row by row. The KL is a statistic (TRL uses it in the rewards):
   * backward does not differentiate it.
   *
   * @param referenceLogProbs (B * cols, V) reference log-probs, or null
   */
  public ForwardResult forward(Workspace ws, TokenBatch batch, ForwardOptions opt,
      INDArray referenceLogProbs) {
    checkWorkspace(ws);
    int bsz = batch.batch();
    int t = batch.seq();
    if (bsz > ws.maxBatch || t > ws.maxSeq) {
      throw new IllegalArgumentException("batch " + bsz + " x " + t + " exceeds the workspace's "
          + ws.maxBatch + " x " + ws.maxSeq);
    }
    if (opt.toCol() > t) {
      throw new IllegalArgumentException("columns [" + opt.fromCol() + ", " + opt.toCol()
          + ") exceed the sequence length " + t);
    }
    int rows = bsz * opt.columns();
    if (opt.vocab() != ForwardOptions.Vocab.NONE && rows > ws.headRowsCapacity) {
      throw new IllegalArgumentException("returning the (" + rows + ", V) vocabulary block needs "
          + "a workspace created with fullVocab = true or training = true");
    }
    batch.validate(cfg);
    Span ref = null;
    if (referenceLogProbs != null) {
      if (referenceLogProbs.length() != (long) rows * cfg.vocabSize()
          || referenceLogProbs.dataType() != dataType()) {
        throw new IllegalArgumentException("reference log-probs must be (" + rows + ", "
            + cfg.vocabSize() + ") " + dataType() + ", got "
            + Arrays.toString(referenceLogProbs.shape()) + " "
            + referenceLogProbs.dataType());
      }
      ref = Span.of(referenceLogProbs);
      if (device != null) {
        ref = ws.block((long) rows * cfg.vocabSize());
        DeviceResidency.upload(ref, referenceLogProbs, (long) rows * cfg.vocabSize());
      }
    }
    ws.backwardReady = false;
    if (device != null) {
      device.syncParams(params);
    }
    Weights w = device != null ? device.weights : weights;
    transformer.forwardTrunk(w, device != null ? device.adapters : adapters, ws, batch);
    LmHead.forward(w, ws, batch, opt, ref);
    ws.batch = batch;
    ws.options = opt;
    ws.backwardReady = ws.training;
    if (device != null) { // the per-token results (and a requested block) come down
      return new ForwardResult(DeviceResidency.download(ws.logp, bsz, t - 1),
          DeviceResidency.download(ws.lse, bsz, t),
          opt.entropy() ? DeviceResidency.download(ws.entropy, bsz, t) : null,
          ref != null ? DeviceResidency.download(ws.kl, bsz, t) : null,
          opt.values() ? DeviceResidency.download(ws.values, bsz, t) : null,
          opt.vocab() != ForwardOptions.Vocab.NONE
              ? DeviceResidency.download(ws.logits, rows, cfg.vocabSize()) : null,
          opt.fromCol(), opt.toCol());
    }
    return new ForwardResult(
        t > 1 ? ws.logp.view(0, bsz, t - 1) : Nd4j.create(dataType(), bsz, 0),
        ws.lse.view(0, bsz, t),
        opt.entropy() ? ws.entropy.view(0, bsz, t) : null,
        ref != null ? ws.kl.view(0, bsz, t) : null,
        opt.values() ? ws.values.view(0, bsz, t) : null,
        opt.vocab() != ForwardOptions.Vocab.NONE
            ? ws.logits.view(0, rows, cfg.vocabSize()) : null,
        opt.fromCol(), opt.toCol());
  }

  /**
   * Accumulates into {@link #grads()} the gradient of a loss whose derivatives w.r.t. the
   * outputs of the last {@link #forward} on {@code ws} are given. Consumes that forward (the
   * logits block is overwritten); forward again before another backward.
   *
   * @param dLogp   (B, T-1) d loss / d logp (entries outside the computed columns are ignored),
   *                or null
   * @param dVocab  (B * cols, V) d loss / d (returned log-probs), only when the forward asked for
   *                {@link ForwardOptions.Vocab#LOG_PROBS}; c-order contiguous; or null
   * @param dValues (B, T) d loss / d values, only when the forward computed values; or null
   */
  public void backward(Workspace ws, INDArray dLogp, INDArray dVocab, INDArray dValues) {
    checkWorkspace(ws);
    if (!ws.training) {
      throw new IllegalStateException("backward needs a workspace created with training = true");
    }
    if (!ws.backwardReady) {
      throw new IllegalStateException("backward needs a fresh forward on this workspace");
    }
    ws.backwardReady = false;
    TokenBatch batch = ws.batch;
    ForwardOptions opt = ws.options;
    int bsz = batch.batch();
    int t = batch.seq();
    hostGrads();
    if (device != null) {
      device.ensureGrads(grads, gradWeights, gradAdapters);
    }
    if (dLogp != null && t > 1) {
      LmHead.load(ws.dlogp, dLogp, bsz, t - 1, "dLogp");
    } else {
      ws.dlogp.zero(0, (long) bsz * (t - 1));
    }
    if (dValues != null && !opt.values()) {
      throw new IllegalArgumentException("dValues given but the forward computed no values");
    }
    if (opt.values()) {
      if (dValues != null) {
        LmHead.load(ws.dvalues, dValues, bsz, t, "dValues");
      } else {
        ws.dvalues.zero(0, (long) bsz * t);
      }
    }
    Span dFull = null;
    if (dVocab != null) {
      if (opt.vocab() != ForwardOptions.Vocab.LOG_PROBS) {
        throw new IllegalArgumentException("dVocab needs a forward with Vocab.LOG_PROBS");
      }
      long rows = (long) bsz * opt.columns();
      if (dVocab.length() != rows * cfg.vocabSize() || dVocab.dataType() != dataType()) {
        throw new IllegalArgumentException("dVocab must be (" + rows + ", " + cfg.vocabSize()
            + ") " + dataType() + ", got " + Arrays.toString(dVocab.shape()) + " "
            + dVocab.dataType());
      }
      dFull = Span.of(dVocab);
      if (device != null) {
        dFull = ws.block(rows * cfg.vocabSize());
        DeviceResidency.upload(dFull, dVocab, rows * cfg.vocabSize());
      }
    }
    if (device != null) {
      LmHead.backward(device.weights, device.gradWeights, ws, batch, opt, dFull);
      transformer.backwardTrunk(device.weights, device.gradWeights, device.adapters,
          device.gradAdapters, ws, batch);
      device.backwardRan();
      return;
    }
    LmHead.backward(weights, gradWeights, ws, batch, opt, dFull);
    transformer.backwardTrunk(weights, gradWeights, adapters, gradAdapters, ws, batch);
  }

  /**
   * Cache and buffers for generating with {@code batch} rows of up to {@code maxTokens} columns
   * (prompt plus new tokens) in total.
   */
  public KvCache newKvCache(int batch, int maxTokens) {
    return device != null ? KvCache.onDevice(device.acc, cfg, batch, maxTokens)
        : new KvCache(cfg, dataType(), batch, maxTokens);
  }

  /**
   * Empties {@code cache} and runs the prompts through it.
   *
   * @param prompts (B, P) token ids, left-padded: every row's last column is a real token
   * @param mask    (B, P) 1 real / 0 padding, or null when no row is padded
   * @return (B, V) logits of the last column; a view into the cache, overwritten by the next
   *         call
   */
  public INDArray prefill(KvCache cache, int[][] prompts, int[][] mask) {
    checkCache(cache);
    cachedForward().prefill(cache, prompts, mask);
    return cache.hostLogits();
  }

  /**
   * Appends one real token to every row and returns the next-token logits.
   *
   * @param nextTokens (B) ids
   * @return (B, V) logits; a view into the cache, overwritten by the next call
   */
  public INDArray decode(KvCache cache, int[] nextTokens) {
    checkCache(cache);
    cachedForward().decode(cache, nextTokens);
    return cache.hostLogits();
  }

  /**
   * Samples the next token of each active row from the last logits of a device cache
   * ({@link KvCache#keepLogitsOnDevice}) on the device: the CPU sampler's processors
   * (repetition penalty over {@code batch}'s history, greedy, temperature, top-k, top-p) and one
   * uniform per row from {@link CounterRng} (seed, global row, {@code step}), as the CPU sampler
   * takes them; the draw scans ids in ascending order, so a sampled (not greedy) token can
   * differ from the CPU's for the same uniform. Only the chosen ids come to the host.
   *
   * @param next (B) receives the active rows' tokens; inactive rows are left as they are
   */
  public void sampleNext(KvCache cache, SamplingParams params, SamplingBatch batch, int step,
      int[] next) {
    checkCache(cache);
    if (device == null) {
      throw new IllegalStateException("sampleNext samples on the device: place the model first");
    }
    DeviceResidency.sample(cache, params, batch, step, next);
  }

  private CachedForward cachedForward() {
    if (device != null) {
      device.syncParams(params);
    }
    if (cached == null) {
      cached = device != null
          ? new CachedForward(cfg, transformer, device.weights, device.adapters)
          : new CachedForward(cfg, transformer, weights, adapters);
    }
    return cached;
  }

  private void checkCache(KvCache cache) {
    if (!cache.cfg.equals(cfg) || cache.logits.dataType() != dataType()) {
      throw new IllegalArgumentException("KV cache was created for another model");
    }
    checkSide("KV cache", cache.device, cache.released(), "newKvCache");
  }

  Weights weights() {
    return weights;
  }

  /** A LoRA agent's adapters, else null. */
  LoraWeights adapters() {
    return adapters;
  }

  /** The gradient views of {@link #grads()} (allocating them): {whole-model or value-head} views. */
  Weights gradWeights() {
    grads();
    return gradWeights;
  }

  /** The adapters' gradient views of a LoRA agent, else null. */
  LoraWeights gradAdapters() {
    grads();
    return gradAdapters;
  }

  Transformer transformer() {
    return transformer;
  }

  private void checkWorkspace(Workspace ws) {
    if (!ws.cfg.equals(cfg) || ws.dataType != dataType()) {
      throw new IllegalArgumentException("workspace was created for another model");
    }
    checkSide("workspace", ws.device, ws.released(), "newWorkspace");
  }

  /** A workspace or cache must be live and on this model's side (host or its device). */
  private void checkSide(String what, Accelerator on, boolean released, String maker) {
    if (released) {
      throw new IllegalStateException(what + " was released");
    }
    if (on != (device == null ? null : device.acc)) {
      throw new IllegalArgumentException(what + " is on " + (on == null ? "the host"
          : "a device") + ", the model " + (device == null ? "on the host" : "on a device")
          + ": make " + what.replace("KV cache", "cache") + "s with " + maker + " after placeOn");
    }
  }
}
