package ai.cory.driver.cli;

import ai.cory.common.config.Compute;
import ai.cory.common.cuda.DeviceRuntime;
import ai.cory.common.cuda.EngineDevice;
import java.util.List;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code --device cpu|cuda|auto} of {@code bin/cory generate} and {@code bench}: resolved like
 * {@code cory.model.device} for this machine (its GPU 0 after {@code CUDA_VISIBLE_DEVICES}), so
 * {@code cuda} without a usable GPU stops with one line before any model is loaded; with a
 * usable one the command places its model there ({@code CausalLm.placeOn}).
 */
public final class DeviceOption {
  private static final Logger LOG = LoggerFactory.getLogger(DeviceOption.class);

  /** The usage line both commands print. */
  public static final String USAGE =
      "  --device              cpu (default), cuda or auto: where the engine runs (bin/cory doctor shows what is usable)";

  private DeviceOption() {}

  /**
   * The GPU to place the command's model on, opened with an arena of what it has free; null
   * for the CPU. Throws a one-line refusal for an unusable {@code cuda}.
   */
  public static DeviceRuntime open(Args args) {
    String value = args.string("device", "cpu");
    Compute.Device device;
    try {
      device = Compute.Device.valueOf(value.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new Args.UsageException("--device: '" + value + "' is not cpu, cuda or auto");
    }
    EngineDevice.Placement p = EngineDevice.place(new Compute(device, Compute.GemmMath.FP32),
        List.of(), 0, "this machine", LOG::info);
    return p.gpu() == null ? null
        : DeviceRuntime.open(p.gpu(), DeviceRuntime.arenaBytes(p.gpu(), 0), Compute.GemmMath.FP32);
  }
}
