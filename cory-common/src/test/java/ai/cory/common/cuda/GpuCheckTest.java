package ai.cory.common.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * On a machine with a GPU: every kernel and cuBLAS against the float64 references, the engine
 * against the CPU engine and the PyTorch goldens (the GPU check without its benchmarks). Skips
 * where there is no usable GPU (CI).
 */
class GpuCheckTest {
  @Test
  void everyKernelMatchesItsReferenceOnTheGpu() {
    assumeTrue(CudaDevices.probe(false).usable(), "no usable GPU here");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int status = GpuCheck.run(new PrintStream(out, true, StandardCharsets.UTF_8), true,
        Path.of(System.getProperty("cory.shared.dir", "../shared")), null);
    assertEquals(0, status, out.toString(StandardCharsets.UTF_8));
  }
}
