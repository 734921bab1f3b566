package ai.cory.common.model;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Every activation and scratch buffer of forward (and backward) passes up to
 * {@code maxBatch x maxSeq} tokens, allocated once. A training workspace keeps each layer's
 * activations and the whole (rows, V) logits block for the backward pass; an inference workspace
 * shares one set of layer buffers across layers and runs the vocabulary head in blocks of
 * rows whose logits fit {@value #INFERENCE_LOGITS_BYTES} bytes (large enough for efficient GEMMs:
 * ~650 rows of GPT-2's 50257 logits), unless {@code fullVocab} asks to return the whole block.
 * Not thread-safe: one forward/backward at a time per workspace.
 */
public final class Workspace {
  static final long INFERENCE_LOGITS_BYTES = 128L << 20;

  /** Activations of one block (shapes for N = B*T rows). */
  record LayerActs(
      Span norm1, Span mean1, Span rstd1, // (N, C), (N), (N)
      Span qkv,                          // (N, (H+2KV)D), q/k after RoPE
      Span att,                          // (B, H, T, T) probabilities
      Span attY,                         // (N, HD)
      Span norm2, Span mean2, Span rstd2, // (N, C), (N), (N)
      Span mlpIn,                        // (N, 4C) | (N, 2I) gate|up
      Span mlpAct) {}                    // (N, 4C) | (N, I)

  final ModelConfig cfg;
  final DataType dataType;
  final int maxBatch;
  final int maxSeq;
  final boolean training;
  final boolean recompute;  // training keeps only the block inputs; backward recomputes each block
  final int headRowsCapacity;
  final Span[] resid;       // 2L+1 x (N, C); all alias one buffer in inference
  final LayerActs[] layers; // L (training) or 1 shared (inference)
  final Span normF;         // (N, C)
  final Span meanF;         // (N)
  final Span rstdF;         // (N)
  final Span hc;            // (headRows, C) gathered final hidden rows of the head columns
  final Span logits;        // (headRows, V)
  final Span lse;           // (B, T)
  final Span entropy;       // (B, T)
  final Span kl;            // (B, T)
  final Span logp;          // (B, T-1)
  final Span values;        // (B, T)
  final Span ones;          // (max(N, headRows)) of 1
  // backward only (null in inference)
  final Span dres;          // (N, C)
  final Span dnorm;         // (N, C)
  final Span dqkv;          // (N, (H+2KV)D)
  final Span dattY;         // (N, HD)
  final Span datt;          // (B, H, T, T)
  final Span dmlpIn;        // (N, F1)
  final Span dmlpAct;       // (N, F2)
  final Span dhc;           // (headRows, C)
  final Span dnormF;        // (N, C)
  final Span dlogp;         // (B, T-1)
  final Span dvalues;       // (B, T)
  final Scratch scratch = new Scratch(6);
  final Accelerator device; // null: host spans and the CPU kernels
  final Kernels kernels;    // the backend every layer of a pass runs on
  final int[] rowTargets; // (headRows) taken next token per head row, -1 at the last column
  final int[] rowStat;    // (headRows) index into (B, T) statistics
  final int[] rowLogp;    // (headRows) index into (B, T-1) log-probs, -1 at the last column

  private Span block;       // see block(n)
  private final DeviceMemory memory; // a device workspace's allocations, its kernels' included

  // State of the last forward pass.
  TokenBatch batch;
  ForwardOptions options;
  VocabSoftmax.Rows rows;
  boolean backwardReady;

  Workspace(ModelConfig cfg, DataType dataType, int maxBatch, int maxSeq, boolean training,
      boolean fullVocab, boolean recompute) {
    this(cfg, dataType, maxBatch, maxSeq, training, fullVocab, inferenceHeadRows(cfg, dataType),
        recompute);
  }

  /** Rows of an inference head block: as many as fit {@link #INFERENCE_LOGITS_BYTES}, at least 64. */
  private static long inferenceHeadRows(ModelConfig cfg, DataType dataType) {
    return Math.max(64, INFERENCE_LOGITS_BYTES
        / ((long) cfg.vocabSize() * (dataType == DataType.FLOAT ? 4 : 8)));
  }

  /** With an explicit head block height for inference (tests exercise several blocks). */
  Workspace(ModelConfig cfg, DataType dataType, int maxBatch, int maxSeq, boolean training,
      boolean fullVocab, long inferenceHeadRows) {
    this(cfg, dataType, maxBatch, maxSeq, training, fullVocab, inferenceHeadRows, false, null);
  }

  private Workspace(ModelConfig cfg, DataType dataType, int maxBatch, int maxSeq, boolean training,
      boolean fullVocab, long inferenceHeadRows, boolean recompute) {
    this(cfg, dataType, maxBatch, maxSeq, training, fullVocab, inferenceHeadRows, recompute, null);
  }

  /**
   * A float32 workspace in {@code device}'s memory whose passes run on the device kernels: the
   * whole (rows, V) logits block when training, else blocks of rows as on the host.
   */
  static Workspace onDevice(Accelerator device, ModelConfig cfg, int maxBatch, int maxSeq,
      boolean training) {
    return onDevice(device, cfg, maxBatch, maxSeq, training, false, false);
  }

  /** As {@link #onDevice(Accelerator, ModelConfig, int, int, boolean)}, with every option. */
  static Workspace onDevice(Accelerator device, ModelConfig cfg, int maxBatch, int maxSeq,
      boolean training, boolean fullVocab, boolean recompute) {
    return new Workspace(cfg, DataType.FLOAT, maxBatch, maxSeq, training, fullVocab,
        inferenceHeadRows(cfg, DataType.FLOAT), recompute, device);
  }

  /**
   * A device block of at least {@code n} floats for what a device pass is handed as a host
   * array (a reference's log-probs, a full log-prob gradient), allocated on first need and kept.
   */
  Span block(long n) {
    if (block == null || block.length < n) {
      if (block != null) {
        memory.free(((Span.Dev) block).address(0));
      }
      block = alloc(n);
    }
    return block;
  }

  /**
   * Gives a device workspace's memory back to its arena for later workspaces and caches (a
   * host workspace's buffers go with the garbage collector). It must not be used afterwards.
   */
  public void release() {
    memory.release();
  }

  boolean released() {
    return memory.released();
  }

  private Workspace(ModelConfig cfg, DataType dataType, int maxBatch, int maxSeq, boolean training,
      boolean fullVocab, long inferenceHeadRows, boolean recompute, Accelerator device) {
    if (maxBatch < 1 || maxSeq < 1) {
      throw new IllegalArgumentException("workspace for " + maxBatch + " x " + maxSeq);
    }
    if (device != null && dataType != DataType.FLOAT) {
      throw new IllegalArgumentException("device workspaces are FLOAT, not " + dataType);
    }
    this.device = device;
    this.memory = new DeviceMemory(device);
    this.cfg = cfg;
    this.dataType = dataType;
    this.maxBatch = maxBatch;
    this.maxSeq = maxSeq;
    this.training = training;
    this.recompute = training && recompute;
    long n = (long) maxBatch * maxSeq;
    int c = cfg.hidden();
    int w3 = (cfg.heads() + 2 * cfg.kvHeads()) * cfg.headDim();
    int hd = cfg.heads() * cfg.headDim();
    boolean gpt2 = cfg.arch() == ModelConfig.Arch.GPT2;
    int f1 = gpt2 ? cfg.intermediate() : 2 * cfg.intermediate();
    int f2 = cfg.intermediate();
    long attSize = (long) maxBatch * cfg.heads() * maxSeq * maxSeq;
    this.headRowsCapacity = (int) (training || fullVocab ? n : Math.min(n, inferenceHeadRows));

    rowTargets = new int[(int) n];
    rowStat = new int[(int) n];
    rowLogp = new int[(int) n];
    int layerSets = training && !this.recompute ? cfg.layers() : 1;
    layers = new LayerActs[layerSets];
    for (int l = 0; l < layerSets; l++) {
      layers[l] = new LayerActs(alloc(n * c), alloc(n), alloc(n), alloc(n * w3), alloc(attSize),
          alloc(n * hd), alloc(n * c), alloc(n), alloc(n), alloc(n * f1), alloc(n * f2));
    }
    resid = new Span[2 * cfg.layers() + 1];
    Span shared = training ? null : alloc(n * c);
    for (int i = 0; i < resid.length; i++) {
      resid[i] = training ? alloc(n * c) : shared;
    }
    normF = alloc(n * c);
    meanF = alloc(n);
    rstdF = alloc(n);
    hc = alloc((long) headRowsCapacity * c);
    logits = alloc((long) headRowsCapacity * cfg.vocabSize());
    lse = alloc(n);
    entropy = alloc(n);
    kl = alloc(n);
    logp = alloc(n);
    values = alloc(n);
    ones = alloc(Math.max(n, headRowsCapacity));
    double[] one = new double[(int) Math.max(n, headRowsCapacity)];
    Arrays.fill(one, 1.0);
    ones.write(0, one, 0, one.length);
    dres = training ? alloc(n * c) : null;
    dnorm = training ? alloc(n * c) : null;
    dqkv = training ? alloc(n * w3) : null;
    dattY = training ? alloc(n * hd) : null;
    datt = training ? alloc(attSize) : null;
    dmlpIn = training ? alloc(n * f1) : null;
    dmlpAct = training ? alloc(n * f2) : null;
    dhc = training ? alloc((long) headRowsCapacity * c) : null;
    dnormF = training ? alloc(n * c) : null;
    dlogp = training ? alloc(n) : null;
    dvalues = training ? alloc(n) : null;
    kernels = device == null ? new CpuKernels(scratch, ones)
        : new DeviceKernels(device, memory, Math.toIntExact(n));
  }

  /**
   * Bytes a workspace of these dimensions allocates (the memory plan), split as {activations and
   * scratch, the (rows, V) logits block}; mirrors the constructor's allocations (a test holds
   * the two together).
   */
  public static long[] plannedBytes(ModelConfig cfg, DataType dataType, int maxBatch, int maxSeq,
      boolean training, boolean fullVocab, boolean recompute) {
    long n = (long) maxBatch * maxSeq;
    long c = cfg.hidden();
    long w3 = (long) (cfg.heads() + 2 * cfg.kvHeads()) * cfg.headDim();
    long hd = (long) cfg.heads() * cfg.headDim();
    boolean gpt2 = cfg.arch() == ModelConfig.Arch.GPT2;
    long f1 = gpt2 ? cfg.intermediate() : 2L * cfg.intermediate();
    long f2 = cfg.intermediate();
    long att = (long) maxBatch * cfg.heads() * maxSeq * maxSeq;
    long headRows = training || fullVocab ? n : Math.min(n, inferenceHeadRows(cfg, dataType));
    long layer = n * c + 2 * n + n * w3 + att + n * hd + n * c + 2 * n + n * f1 + n * f2;
    long elements = (training && !recompute ? cfg.layers() : 1) * layer
        + (training ? 2L * cfg.layers() + 1 : 1) * n * c
        + n * c + 2 * n + headRows * c + 5 * n + Math.max(n, headRows);
    if (training) {
      elements += 2 * n * c + n * w3 + n * hd + att + n * f1 + n * f2 + headRows * c + n * c + 2 * n;
    }
    long width = dataType.width();
    return new long[] {elements * width, headRows * cfg.vocabSize() * width};
  }

  /** Largest batch this workspace serves. */
  public int maxBatch() {
    return maxBatch;
  }

  /** Longest sequence this workspace serves. */
  public int maxSeq() {
    return maxSeq;
  }

  /** True if backward recomputes each block's activations from its input (one set kept, not L). */
  public boolean recomputes() {
    return recompute;
  }

  /** True if it keeps activations for {@link CausalLm#backward}. */
  public boolean training() {
    return training;
  }

  /** Layer activations of block l (the shared set in inference). */
  LayerActs layer(int l) {
    return layers[training && !recompute ? l : 0];
  }

  private Span alloc(long elements) {
    long m = Math.max(1, elements);
    return device == null ? HostMemory.zeros(dataType, m) : memory.span(m);
  }
}
