package ai.cory.common.model;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Key/value cache and every buffer of cached generation for a fixed batch, allocated once:
 * decoding any number of steps up to {@code maxTokens} allocates nothing. Each row keeps its own
 * slot mask (padding slots are never attended to) and its own next position (the number of its
 * real tokens so far), so left-padded prompts of different lengths decode exactly like each row
 * alone. Keys are stored after RoPE. Layout per layer: (B, KV, maxTokens, D).
 *
 * <p>Prompts are processed in chunks of {@link #chunkColumns()} columns, bounding the
 * activation buffers to {@code batch * chunkColumns} rows whatever the prompt length.
 */
public final class KvCache {
  /** Target rows (batch x columns) of one prefill chunk. */
  static final int CHUNK_ROWS = 1024;

  final ModelConfig cfg;
  final int batch;
  final int maxTokens;
  final int chunkCols;
  final Span[] keys;    // L x (B, KV, maxTokens, D)
  final Span[] values;  // L x (B, KV, maxTokens, D)
  final int[] slotMask; // (B, maxTokens)
  final int[] nextPosition; // (B)
  int length;           // filled slots (columns), the same for every row
  // chunk activations, rows r = b * n + i for a chunk of n columns
  final int[] tokens;   // (B * chunk)
  final int[] positions; // (B * chunk)
  final int[] chunkMask; // (B * chunk)
  final Span x;         // (B * chunk, C) residual stream
  final Span norm;      // (B * chunk, C)
  final Span mean;      // (B * chunk)
  final Span rstd;      // (B * chunk)
  final Span qkv;       // (B * chunk, (H+2KV)D)
  final Span attY;      // (B * chunk, HD)
  final Span mlpIn;     // (B * chunk, F1)
  final Span mlpAct;    // (B * chunk, F2)
  final Span scores;    // (B, H, chunk, maxTokens)
  final Span last;      // (B, C) final-norm input of each row's last column
  final Span lastNorm;  // (B, C)
  final Span lastMean;  // (B)
  final Span lastRstd;  // (B)
  final Span logits;    // (B, V)
  final Span ones;      // (B * chunk)
  private INDArray logitsView; // (B, V) for callers: a view of logits, or a device's host copy
  final int[] lastRows;  // (B) the chunk rows whose logits are computed
  final Scratch scratch = new Scratch(5);
  final Accelerator device; // null: host spans and the CPU kernels
  final Kernels kernels;    // the backend every layer of a chunk runs on

  KvCache(ModelConfig cfg, DataType dataType, int batch, int maxTokens) {
    this(cfg, dataType, batch, maxTokens, Math.max(1, CHUNK_ROWS / Math.max(1, batch)));
  }

  /** With an explicit prefill chunk width (tests exercise multi-chunk prompts). */
  KvCache(ModelConfig cfg, DataType dataType, int batch, int maxTokens, int chunkColumns) {
    this(cfg, dataType, batch, maxTokens, chunkColumns, null);
  }

  /** A float32 cache in {@code device}'s memory whose chunks run on the device kernels. */
  static KvCache onDevice(Accelerator device, ModelConfig cfg, int batch, int maxTokens) {
    return new KvCache(cfg, DataType.FLOAT, batch, maxTokens,
        Math.max(1, CHUNK_ROWS / Math.max(1, batch)), device);
  }

  private KvCache(ModelConfig cfg, DataType dataType, int batch, int maxTokens, int chunkColumns,
      Accelerator device) {
    this.device = device;
    this.memory = new DeviceMemory(device);
    if (batch < 1 || maxTokens < 1 || chunkColumns < 1) {
      throw new IllegalArgumentException("KV cache for " + batch + " rows x " + maxTokens
          + " slots, chunks of " + chunkColumns);
    }
    this.cfg = cfg;
    this.batch = batch;
    this.maxTokens = maxTokens;
    this.chunkCols = Math.min(maxTokens, chunkColumns);
    int c = cfg.hidden();
    int d = cfg.headDim();
    long kvSize = (long) batch * cfg.kvHeads() * maxTokens * d;
    keys = new Span[cfg.layers()];
    values = new Span[cfg.layers()];
    for (int l = 0; l < cfg.layers(); l++) {
      keys[l] = alloc(dataType, kvSize);
      values[l] = alloc(dataType, kvSize);
    }
    slotMask = new int[batch * maxTokens];
    nextPosition = new int[batch];
    int rows = batch * chunkCols;
    boolean gpt2 = cfg.arch() == ModelConfig.Arch.GPT2;
    tokens = new int[rows];
    positions = new int[rows];
    chunkMask = new int[rows];
    x = alloc(dataType, (long) rows * c);
    norm = alloc(dataType, (long) rows * c);
    mean = alloc(dataType, rows);
    rstd = alloc(dataType, rows);
    qkv = alloc(dataType, (long) rows * (cfg.heads() + 2 * cfg.kvHeads()) * d);
    attY = alloc(dataType, (long) rows * cfg.heads() * d);
    mlpIn = alloc(dataType, (long) rows * (gpt2 ? 1 : 2) * cfg.intermediate());
    mlpAct = alloc(dataType, (long) rows * cfg.intermediate());
    scores = alloc(dataType, (long) batch * cfg.heads() * chunkCols * maxTokens);
    last = alloc(dataType, (long) batch * c);
    lastNorm = alloc(dataType, (long) batch * c);
    lastMean = alloc(dataType, batch);
    lastRstd = alloc(dataType, batch);
    logits = alloc(dataType, (long) batch * cfg.vocabSize());
    ones = alloc(dataType, rows);
    double[] one = new double[rows];
    Arrays.fill(one, 1.0);
    ones.write(0, one, 0, rows);
    lastRows = new int[batch];
    kernels = device == null ? new CpuKernels(scratch, ones) : new DeviceKernels(device, memory, rows);
  }

  private boolean logitsStayOnDevice;
  private final DeviceMemory memory; // a device cache's allocations, its kernels' included

  /**
   * Gives a device cache's memory back to its arena for later caches and workspaces (a host
   * cache's buffers go with the garbage collector). It must not be used afterwards.
   */
  public void release() {
    memory.release();
  }

  boolean released() {
    return memory.released();
  }

  /**
   * For a device cache sampled on the device ({@code CausalLm.sampleNext}): prefill and decode
   * stop bringing each step's (B, V) logits to the host and return null.
   */
  public void keepLogitsOnDevice() {
    if (device == null) {
      throw new IllegalStateException("a host cache's logits are on the host");
    }
    logitsStayOnDevice = true;
  }

  /** True for a cache in device memory (made by a model placed on a device). */
  public boolean onDevice() {
    return device != null;
  }

  /** The last chunk's (B, V) logits for the caller: a view, or copied down from the device. */
  INDArray hostLogits() {
    if (logitsStayOnDevice) {
      return null;
    }
    if (logitsView == null) { // at the first call: ModelPass and the device sampler need none
      logitsView = device == null ? logits.view(0, batch, cfg.vocabSize())
          : Nd4j.create(DataType.FLOAT, batch, cfg.vocabSize()); // filled from the device per chunk
    }
    if (device != null) {
      Span.of(logitsView).copyFrom(0, logits, 0, (long) batch * cfg.vocabSize());
    }
    return logitsView;
  }

  /**
   * Bytes a cache of these dimensions allocates (the memory plan): keys and values of every
   * layer, the chunk activations, scores and the (B, V) logits; mirrors the constructor.
   */
  public static long plannedBytes(ModelConfig cfg, DataType dataType, int batch, int maxTokens) {
    long chunk = Math.min(maxTokens, Math.max(1, CHUNK_ROWS / Math.max(1, batch)));
    long rows = batch * chunk;
    long c = cfg.hidden();
    long d = cfg.headDim();
    boolean gpt2 = cfg.arch() == ModelConfig.Arch.GPT2;
    long kv = 2L * cfg.layers() * batch * cfg.kvHeads() * maxTokens * d;
    long elements = kv + 2 * rows * c + 2 * rows + rows * (cfg.heads() + 2L * cfg.kvHeads()) * d
        + rows * cfg.heads() * d + rows * (gpt2 ? 1 : 2) * cfg.intermediate() + rows * cfg.intermediate()
        + (long) batch * cfg.heads() * chunk * maxTokens + 2L * batch * c + 2L * batch
        + (long) batch * cfg.vocabSize() + rows;
    return elements * dataType.width();
  }

  private Span alloc(DataType dataType, long elements) {
    long m = Math.max(1, elements);
    return device == null ? HostMemory.zeros(dataType, m) : memory.span(m);
  }

  /** Rows of the batch. */
  public int batch() {
    return batch;
  }

  /** Slots (prompt + generated columns) the cache holds at most. */
  public int capacity() {
    return maxTokens;
  }

  /** Slots filled so far. */
  public int length() {
    return length;
  }

  /** Columns processed per prefill chunk. */
  public int chunkColumns() {
    return chunkCols;
  }

  /** Next position id of row b (its number of real tokens so far). */
  public int nextPosition(int b) {
    return nextPosition[b];
  }

  /** Empties the cache (buffers are kept). */
  public void reset() {
    length = 0;
    Arrays.fill(slotMask, 0);
    Arrays.fill(nextPosition, 0);
  }
}
