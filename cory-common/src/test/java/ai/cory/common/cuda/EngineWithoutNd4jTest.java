package ai.cory.common.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.model.CausalLm;
import ai.cory.common.model.HostMemory;
import ai.cory.common.testing.SharedAssets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The engine with its host buffers allocated through JavaCPP alone, as in the GPU check bundle,
 * which cannot carry ND4J's native library: the CPU engine still meets the PyTorch goldens, the
 * device path (emulated) still meets the CPU engine, and what needs ND4J refuses by name.
 */
class EngineWithoutNd4jTest {
  @BeforeEach
  void withoutNd4j() {
    HostMemory.useNd4j(false);
  }

  @AfterEach
  void back() {
    HostMemory.useNd4j(true);
  }

  @Test
  void theCpuEngineMeetsTheGoldens() throws Exception {
    Path shared = SharedAssets.root();
    List<CheckResult> results = GoldenChecks.onHost(shared);
    assertEquals(12, results.size());
    for (CheckResult r : results) {
      assertTrue(r.ok(), r.json());
    }
  }

  @Test
  void theDeviceMeetsTheCpuEngineAndTheGoldens() throws Exception {
    for (CheckResult r : new EngineChecks(new EmulatedDevice()).run()) {
      assertTrue(r.ok(), r.json());
    }
    Path shared = SharedAssets.root();
    for (CheckResult r : GoldenChecks.onDevice(new EmulatedDevice(), shared)) {
      assertTrue(r.ok(), r.json());
    }
  }

  @Test
  void whatNeedsNd4jRefusesByName() {
    CausalLm lm = CausalLm.random(EngineChecks.gpt2(), DataType.FLOAT, 1);
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> lm.params().flat());
    assertTrue(e.getMessage().contains("without ND4J"), e.getMessage());
    assertTrue(GpuCheck.engineUnavailable() == null);
  }
}
