package ai.cory.common.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Where the CUDA libraries are looked for, and what a machine without them is told. */
class CudaLibrariesTest {
  @Test
  void searchOrderIsPropertyEnvironmentCudaHomeThenTheDefaultInstallation() {
    List<Path> dirs = CudaLibraries.searchDirectories("/opt/a:/opt/b",
        Map.of("CORY_CUDA_LIB_DIR", "/opt/c", "CUDA_HOME", "/usr/local/cuda-12.4"));
    assertEquals(List.of(Path.of("/opt/a"), Path.of("/opt/b"), Path.of("/opt/c"),
        Path.of("/usr/local/cuda-12.4/lib64"), Path.of("/usr/local/cuda/lib64")), dirs);
  }

  @Test
  void withoutADriverTheProbeSaysWhyInOneLine() {
    CudaDevices.Probe probe = CudaDevices.probe(true);
    assumeFalse(probe.usable(), "this machine has a GPU");
    String why = probe.whyNot();
    assertTrue(why.contains("libcuda.so.1") || why.contains("cuInit"), why);
    assertTrue(!why.contains("\n"), why);
  }

  @Test
  void theGpuCheckRefusesWithoutAGpuWithExitStatus3() {
    assumeFalse(CudaDevices.probe(false).usable(), "this machine has a GPU");
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    int status = GpuCheck.run(new java.io.PrintStream(out, true, java.nio.charset.StandardCharsets.UTF_8), true, null, null);
    assertEquals(3, status);
    String printed = out.toString(java.nio.charset.StandardCharsets.UTF_8);
    assertTrue(printed.startsWith("{\"gpu\":null,\"error\":\"no NVIDIA driver")
        || printed.startsWith("{\"gpu\":null,\"error\":\"cuInit"), printed);
  }

  @Test
  void kernelCacheDirectoryFollowsPropertyThenEnvironment() {
    assertEquals(Path.of("/p"), KernelCache.defaultDir("/p", Map.of("CORY_CUDA_CACHE", "/e")));
    assertEquals(Path.of("/e"), KernelCache.defaultDir(null, Map.of("CORY_CUDA_CACHE", "/e")));
    assertEquals(Path.of("/x/cory/cubin"), KernelCache.defaultDir(null, Map.of("XDG_CACHE_HOME", "/x")));
  }
}
