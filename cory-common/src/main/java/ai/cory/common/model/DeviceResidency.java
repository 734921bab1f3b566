package ai.cory.common.model;

import ai.cory.common.sampling.CounterRng;
import ai.cory.common.sampling.SamplingBatch;
import ai.cory.common.sampling.SamplingParams;
import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A {@link CausalLm} placed on a device: the device copies of what its passes read (weights,
 * adapters; a LoRA agent's base shared with every agent on it) and of its gradient buffer, and
 * the protocol that keeps them and the host buffers in step without the trainer knowing:
 *
 * <ul>
 *   <li>the host's trainable parameters are what the allreduce, parameter averaging and
 *       checkpoints work on; handing them out ({@link CausalLm#params()}) marks the device copy
 *       stale, and the next device pass or Adam step uploads them first ({@link #syncParams});
 *   <li>an Adam step on the device ({@link DeviceAdam}) makes the device copy the newer one:
 *       handing the host parameters out then brings it down first;
 *   <li>backward accumulates into the device gradient; handing out the host gradient ({@link
 *       CausalLm#grads()}) downloads it first when the device holds newer values, and
 *       {@link CausalLm#zeroGrad()} zeroes both.
 * </ul>
 */
final class DeviceResidency {
  final Accelerator acc;
  final Weights weights;        // what passes read, on the device
  final LoraWeights adapters;   // a LoRA agent's adapters on the device, else null
  private final Span trainable; // the device copy of the trainable buffer, null when frozen
  private Span grads;           // device gradient buffer, allocated at the first backward
  Weights gradWeights;
  LoraWeights gradAdapters;
  private boolean paramsStale;  // the host buffer was handed out since the last upload
  private boolean paramsNewer;  // an Adam step on the device changed them since the last download
  private boolean gradsNewer;   // the device gradient holds values the host has not seen

  private DeviceResidency(Accelerator acc, Weights weights, LoraWeights adapters, Span trainable) {
    this.acc = acc;
    this.weights = weights;
    this.adapters = adapters;
    this.trainable = trainable;
  }

  /** A whole model or a frozen (possibly packed) base: every weight goes up once. */
  static DeviceResidency of(Accelerator acc, Weights host, Parameters params, boolean frozen) {
    DeviceCopy up = new DeviceCopy(acc, false);
    Weights w = host.map(up);
    return new DeviceResidency(acc, w, null, frozen ? null : up.apply(params.span()));
  }

  /** A LoRA agent over its base's device weights: only the adapters and value head go up. */
  static DeviceResidency agent(Accelerator acc, DeviceResidency base, LoraWeights host,
      Parameters params) {
    DeviceCopy up = new DeviceCopy(acc, false);
    LoraWeights a = new LoraWeights(host, up);
    return new DeviceResidency(acc, base.weights.withValueHead(a.valueW, a.valueB), a,
        up.apply(params.span()));
  }

  /** Before the host's trainable parameters are handed out: the device's down when newer. */
  void paramsHandedOut(Parameters host) {
    paramsRead(host);
    paramsStale = trainable != null;
  }

  /** Before the host's trainable parameters are read: the device's down when newer. */
  void paramsRead(Parameters host) {
    if (paramsNewer) {
      host.span().copyFrom(0, trainable, 0, trainable.length);
      paramsNewer = false;
    }
  }

  /** The device copy of the trainable parameters, null for a frozen model. */
  Span trainable() {
    return trainable;
  }

  /** The device gradient buffer, null before the first backward. */
  Span grads() {
    return grads;
  }

  /** An optimizer step changed the device copy: the host's is stale until handed out. */
  void paramsStepped() {
    paramsNewer = true;
  }

  /** Before a device pass: the host's trainable parameters up when they may have changed. */
  void syncParams(Parameters host) {
    if (paramsStale) {
      trainable.copyFrom(0, host.span(), 0, trainable.length);
      paramsStale = false;
    }
  }

  /** The device gradient buffer and its views, in the host's layout, zero when first made. */
  void ensureGrads(Parameters hostGrads, Weights hostViews, LoraWeights hostAdapters) {
    if (grads == null) {
      DeviceCopy zeros = new DeviceCopy(acc, true);
      grads = zeros.apply(hostGrads.span());
      gradWeights = hostViews.map(zeros);
      gradAdapters = hostAdapters == null ? null : new LoraWeights(hostAdapters, zeros);
    }
  }

  void backwardRan() {
    gradsNewer = true;
  }

  /** Before the host gradient is handed out: the device's accumulation down when newer. */
  void syncGrads(Parameters hostGrads) {
    if (gradsNewer) {
      hostGrads.span().copyFrom(0, grads, 0, grads.length);
      gradsNewer = false;
    }
  }

  void zeroGrads() {
    if (grads != null) {
      grads.zero();
    }
    gradsNewer = false;
  }

  /** A (rows, cols) FLOAT host array of a device span's first rows x cols elements. */
  static INDArray download(Span src, long rows, long cols) {
    INDArray out = Nd4j.create(DataType.FLOAT, rows, cols);
    if (rows * cols > 0) {
      Span.of(out).copyFrom(0, src, 0, rows * cols);
    }
    return out;
  }

  /** Writes a host array (any layout, {@code n} elements) into the start of a device span. */
  static void upload(Span dst, INDArray src, long n) {
    float[] f = src.dup('c').data().asFloat();
    if (f.length < n) {
      throw new IllegalArgumentException(f.length + " values for " + n);
    }
    dst.writeFloats(0, Arrays.copyOf(f, Math.toIntExact(n)), 0, Math.toIntExact(n));
  }

  /**
   * See {@code CausalLm.sampleNext}: the batch's histories, active rows and uniforms (the CPU
   * sampler's, from {@link CounterRng}) go up, the chosen ids come down.
   */
  static void sample(KvCache cache, SamplingParams params, SamplingBatch batch, int step,
      int[] next) {
    int rows = cache.batch;
    if (batch.rows() != rows || next.length != rows) {
      throw new IllegalArgumentException(batch.rows() + " sampling rows and " + next.length
          + " outputs for a cache of " + rows);
    }
    int stride = 1;
    int[] lengths = new int[rows];
    for (int b = 0; b < rows; b++) {
      lengths[b] = batch.history().length(b);
      stride = Math.max(stride, lengths[b]);
    }
    int[] history = new int[rows * stride];
    int[] active = new int[rows];
    double[] uniforms = new double[rows];
    for (int b = 0; b < rows; b++) {
      for (int i = 0; i < lengths[b]; i++) {
        history[b * stride + i] = batch.history().token(b, i);
      }
      active[b] = batch.active()[b] ? 1 : 0;
      uniforms[b] = CounterRng.uniform(batch.seed(), batch.globalRows()[b], step);
    }
    ((DeviceKernels) cache.kernels).sample(cache, params, history, stride, lengths, uniforms,
        active, next);
  }
}
