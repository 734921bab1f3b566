package ai.cory.common.model;

import java.util.Objects;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Adam on a placed model's device ({@link CausalLm#deviceAdam()}): the moments (m | v, {@code 2
 * x P} float32) live in device memory beside the device copy of the trainable parameters, and an
 * optimizer step is one {@code adam_step} launch over the two, so the parameters and moments
 * stay on the device across iterations. The trainer's host side keeps what must cross: the
 * gradient comes down for the allreduce and clipping ({@link CausalLm#grads()}) and the final
 * one goes up for the step (the same bytes the host step's parameter upload took).
 *
 * <p>The host's {@code (1, 2P)} moment array (checkpoints, parameter averaging, a reset) and the
 * device's are kept in step like the parameters: {@link #stateHandedOut} brings the device's
 * down when they are newer and makes the host's the ones the next step uploads. The step's
 * scalars are the host optimizer's ({@code step_size = lr sqrt(1 - b2^t) / (1 - b1^t)} and
 * {@code eps'}, worker.train.AdamOptimizer), so both backends make the same update.
 */
public final class DeviceAdam {
  private final DeviceResidency device;
  private final Parameters hostParams;
  private final Parameters hostGrads;
  private final Span moments;   // (2P) on the device: m then v
  private boolean hostNewer;    // the host state was handed out since the last upload
  private boolean deviceNewer;  // a step changed the device moments since the last download

  DeviceAdam(DeviceResidency device, Parameters hostParams, Parameters hostGrads) {
    this.device = Objects.requireNonNull(device, "device");
    this.hostParams = hostParams;
    this.hostGrads = hostGrads;
    long n = 2 * size();
    this.moments = Span.device(device.acc, device.acc.alloc(4 * n), n);
    this.hostNewer = true; // the first step takes the host's moments (zero, or restored)
  }

  private long size() {
    return hostParams.layout().size();
  }

  /**
   * One step: the host gradient (averaged and clipped) up, then on the device {@code m = b1 m +
   * (1 - b1) g}, {@code v = b2 v + (1 - b2) g^2}, {@code p -= stepSize m / (sqrt(v) + eps)}.
   * Host parameters or moments handed out since the last step go up first.
   *
   * @param state the host's (1, 2P) moments, uploaded when they were handed out
   */
  public void step(INDArray state, float stepSize, float beta1, float beta2, float eps) {
    long n = size();
    if (state.length() != 2 * n) {
      throw new IllegalArgumentException("Adam state of " + state.length() + " for " + n
          + " parameters");
    }
    Span params = device.trainable();
    Span grads = device.grads();
    if (grads == null) {
      throw new IllegalStateException("an Adam step before any backward on the device");
    }
    device.syncParams(hostParams);
    if (hostNewer) {
      moments.copyFrom(0, Span.of(state), 0, 2 * n);
      hostNewer = false;
    }
    grads.copyFrom(0, hostGrads.span(), 0, n);
    Span.Dev p = (Span.Dev) params;
    Span.Dev m = (Span.Dev) moments;
    p.acc.launch("adam_step", DeviceKernels.grid(n), DeviceKernels.THREADS, 0, p.address(0),
        m.address(0), m.address(n), ((Span.Dev) grads).address(0), n, stepSize, beta1, beta2,
        eps);
    device.paramsStepped();
    deviceNewer = true;
  }

  /**
   * Before the host's moments are read or written: the device's down when newer ({@code read});
   * the next step uploads the host's.
   */
  public void stateHandedOut(INDArray state, boolean read) {
    if (read) {
      stateRead(state);
    }
    deviceNewer = false;
    hostNewer = true;
  }

  /** Before the host's moments are only read: the device's down when newer; nothing goes up. */
  public void stateRead(INDArray state) {
    if (deviceNewer) {
      Span.of(state).copyFrom(0, moments, 0, 2 * size());
      deviceNewer = false;
    }
  }
}
