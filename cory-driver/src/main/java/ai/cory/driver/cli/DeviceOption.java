package ai.cory.driver.cli;

import ai.cory.common.config.Compute;
import ai.cory.common.cuda.EngineDevice;
import java.util.List;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code --device cpu|cuda|auto} of {@code bin/cory generate} and {@code bench}: resolved like
 * {@code cory.model.device} for this machine (its GPU 0 after {@code CUDA_VISIBLE_DEVICES}), so
 * {@code cuda} without a usable GPU stops with one line before any model is loaded.
 */
public final class DeviceOption {
  private static final Logger LOG = LoggerFactory.getLogger(DeviceOption.class);

  /** The usage line both commands print. */
  public static final String USAGE =
      "  --device              cpu (default), cuda or auto: where the engine runs (bin/cory doctor shows what is usable)";

  private DeviceOption() {}

  /** The device to run on; throws a one-line refusal for an unusable {@code cuda}. */
  public static Compute.Device resolve(Args args) {
    String value = args.string("device", "cpu");
    Compute.Device device;
    try {
      device = Compute.Device.valueOf(value.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new Args.UsageException("--device: '" + value + "' is not cpu, cuda or auto");
    }
    return EngineDevice.resolve(new Compute(device, Compute.GemmMath.FP32), List.of(), 0,
        "this machine", LOG::info);
  }
}
