package ai.cory.common.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.testing.SharedAssets;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The GPU check's golden comparisons without a GPU: on the CPU engine they pass against the
 * PyTorch goldens (so the comparison code itself is right, and a failure on a GPU is the
 * device's); on the device backend every launch of them is valid ({@link ValidatingDevice}), and
 * with every launch carried out in Java ({@link EmulatedDevice}) they pass too, so the device
 * path's wiring is right and only the CUDA C arithmetic is left for a GPU.
 */
class GoldenChecksTest {
  @Test
  void theGoldenComparisonsHoldOnTheCpuEngine() throws Exception {
    List<CheckResult> results = GoldenChecks.onHost(SharedAssets.root());
    assertEquals(12, results.size());
    for (CheckResult r : results) {
      assertTrue(r.ok(), r.json());
      System.out.println(r.json());
    }
  }

  @Test
  void theGoldenComparisonsLaunchValidlyOnTheDevice() throws Exception {
    Path shared = SharedAssets.root();
    ValidatingDevice device = new ValidatingDevice();
    List<CheckResult> results = GoldenChecks.onDevice(device, shared);
    assertEquals(12, results.size());
    assertTrue(device.launched.containsAll(Set.of("vocab_forward", "vocab_backward",
        "embedding_forward", "embedding_backward", "rmsnorm_forward", "layernorm_forward",
        "kv_cache_write", "attention_cached")),
        device.launched.toString());
  }

  @Test
  void theGoldenComparisonsHoldOnAnEmulatedDevice() throws Exception {
    List<CheckResult> results = GoldenChecks.onDevice(new EmulatedDevice(), SharedAssets.root());
    assertEquals(12, results.size());
    for (CheckResult r : results) {
      System.out.println(r.json());
      assertTrue(r.ok(), r.json());
    }
  }

  @Test
  void missingGoldensAreNamed() {
    assertTrue(GoldenChecks.unavailable(null).startsWith("no shared directory"));
    assertTrue(GoldenChecks.unavailable(Path.of("/nonexistent")).startsWith("missing "));
  }
}
