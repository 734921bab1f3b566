package ai.cory.common.cuda;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The emulated device's kernel transcriptions against the GPU check's float64 references (the
 * same comparisons a GPU must pass): every layer kernel but Adam, attention (forward, both
 * backward kernels, the cached chunk and decode step), the fused vocabulary pass and the token
 * choice (greedy and sampled, with every processor). So what
 * the engine and golden comparisons prove on the emulated device rests on transcriptions that
 * meet each kernel's contract, not on a second copy of the engine's own arithmetic.
 */
class EmulatedDeviceTest {
  @Test
  void theTranscriptionsMeetTheKernelReferences() {
    EmulatedDevice device = new EmulatedDevice();
    List<CheckResult> results = new ArrayList<>();
    try (DeviceArena arena = device.arena(256L << 20)) {
      DeviceScratch d = new DeviceScratch(device, arena, 20261203L);
      LayerChecks layers = new LayerChecks(d);
      results.addAll(List.of(layers.gelu(), layers.geluBackward(), layers.swiglu(),
          layers.swigluBackward(), layers.rmsnorm(), layers.rmsnormBackward(), layers.layernorm(),
          layers.layernormBackward(), layers.rope(), layers.embedding(),
          layers.embeddingBackward(), layers.axpyAndScale(), layers.biasAndColumnSum()));
      results.addAll(new AttentionChecks(d).run());
      results.addAll(new SamplingChecks(d).run());
    }
    for (CheckResult r : results) {
      System.out.println(r.json());
      assertTrue(r.ok(), r.json());
    }
  }
}
