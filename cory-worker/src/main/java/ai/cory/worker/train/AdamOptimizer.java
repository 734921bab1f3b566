package ai.cory.worker.train;

import ai.cory.common.config.OptimizerSettings;
import ai.cory.common.config.OptimizerSettings.EpsilonConvention;
import ai.cory.common.model.CausalLm;
import ai.cory.common.model.DeviceAdam;
import java.util.Objects;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.config.Adam;

/**
 * Adam (Kingma and Ba 2015) on one agent's flat parameter buffer, through ND4J's own updater
 * ({@link Adam} and its {@link GradientUpdater}, ARCHITECTURE.md decision 3): constant learning
 * rate, no weight decay. The moment state (m | v, {@code 2 x parameters}) is allocated once and
 * zeroed on {@link #reset()}.
 *
 * <p>ND4J computes {@code update = lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps')}.
 * PyTorch's Adam (what TRL and the paper used) is {@code lr m_hat / (sqrt(v_hat) + eps)}
 * {@code = lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps sqrt(1 - b2^t))}, so with
 * {@link EpsilonConvention#TORCH} the updater is given {@code eps' = eps sqrt(1 - b2^t)} at step
 * t and the two agree exactly; {@link EpsilonConvention#ND4J} passes {@code eps} unchanged.
 *
 * <p>A model placed on a device steps there ({@link #step(CausalLm)}, {@link DeviceAdam}): the
 * same update from the same scalars by the {@code adam_step} kernel, the moments resident on the
 * device; {@link #state()} brings them down when asked for.
 *
 * <p>Not thread-safe: one per agent, used by the training thread.
 */
public final class AdamOptimizer {
  private final double learningRate;
  private final OptimizerSettings settings;
  private final Adam config;
  private final INDArray state;         // (1, 2P): m then v, allocated once
  private final GradientUpdater<Adam> updater;
  private final long parameterCount;
  private int steps;                     // optimizer steps taken since the last reset
  private DeviceAdam device;             // the moments on the policy's device, once it stepped there

  /**
   * @param parameterCount P, elements of the flat parameter buffer
   * @param dataType       the parameters' type (the state has the same)
   */
  @SuppressWarnings("unchecked")
  public AdamOptimizer(long parameterCount, DataType dataType, double learningRate, OptimizerSettings settings) {
    this.settings = Objects.requireNonNull(settings, "settings");
    if (!(learningRate > 0) || !Double.isFinite(learningRate)) {
      throw new IllegalArgumentException("learning rate must be finite and > 0, got " + learningRate);
    }
    if (parameterCount <= 0) {
      throw new IllegalArgumentException("parameterCount must be > 0, got " + parameterCount);
    }
    this.learningRate = learningRate;
    this.parameterCount = parameterCount;
    this.config = new Adam(learningRate, settings.beta1(), settings.beta2(), settings.epsilon());
    this.state = Nd4j.zeros(dataType, 1, 2 * parameterCount);
    this.updater = (GradientUpdater<Adam>) config.instantiate(state, true);
    this.updater.setStateViewArray(state, new long[] {parameterCount}, 'c', true);
  }

  /**
   * One Adam step: {@code params -= update(grads)}. The gradient buffer is overwritten with the
   * update (ND4J computes it in place); zero it before accumulating the next gradient.
   *
   * @param params (P) flat parameter buffer, updated in place
   * @param grads  (P) flat gradient buffer of the same length and type
   */
  public void step(INDArray params, INDArray grads) {
    if (params.length() != parameterCount || grads.length() != parameterCount) {
      throw new IllegalArgumentException("Adam was built for " + parameterCount + " parameters, got params "
          + params.length() + ", grads " + grads.length());
    }
    int t = steps + 1;
    if (settings.epsilonConvention() == EpsilonConvention.TORCH) {
      config.setEpsilon(settings.epsilon() * Math.sqrt(1 - Math.pow(settings.beta2(), t)));
    }
    updater.applyUpdater(grads, steps, 0); // ND4J's iteration is 0-based: bias corrections use t = steps + 1
    params.subi(grads);
    steps = t;
  }

  /**
   * One Adam step on {@code policy}'s trainable parameters from its gradient buffer (averaged
   * and clipped by the caller): on its device when placed there, else {@link #step(INDArray,
   * INDArray)} on the host buffers.
   */
  public void step(CausalLm policy) {
    if (!policy.onDevice()) {
      step(policy.params().flat(), policy.grads().flat());
      return;
    }
    if (device == null) {
      device = policy.deviceAdam();
    }
    int t = steps + 1;
    double bias2 = 1 - Math.pow(settings.beta2(), t);
    double stepSize = learningRate * Math.sqrt(bias2) / (1 - Math.pow(settings.beta1(), t));
    double eps = settings.epsilonConvention() == EpsilonConvention.TORCH
        ? settings.epsilon() * Math.sqrt(bias2) : settings.epsilon();
    device.step(state, (float) stepSize, (float) settings.beta1(), (float) settings.beta2(),
        (float) eps);
    steps = t;
  }

  /** Forgets the moments and the step count (a fresh optimizer, same buffers). */
  public void reset() {
    if (device != null) {
      device.stateHandedOut(state, false);
    }
    state.assign(0);
    steps = 0;
  }

  /**
   * Resumes from a checkpoint: the moments have been written into {@link #state()}; this sets
   * the step count t their bias corrections continue from.
   */
  public void restoreSteps(int stepsTaken) {
    if (stepsTaken < 0) {
      throw new IllegalArgumentException("stepsTaken must be >= 0, got " + stepsTaken);
    }
    steps = stepsTaken;
  }

  /** Optimizer steps since construction or the last {@link #reset()}. */
  public int steps() {
    return steps;
  }

  /** The constant step size. */
  public double learningRate() {
    return learningRate;
  }

  /**
   * The (1, 2P) moment state: m in the first half, v in the second (checkpoints, averaging). On
   * a device the moments come down first, and what the caller writes goes up at the next step.
   */
  public INDArray state() {
    if (device != null) {
      device.stateHandedOut(state, true);
    }
    return state;
  }

  /**
   * The moment state to read, not to change (checksums, checkpoints): as {@link #state()}, but
   * moments on a device stay current there and are not uploaded again.
   */
  public INDArray stateToRead() {
    if (device != null) {
      device.stateRead(state);
    }
    return state;
  }
}
