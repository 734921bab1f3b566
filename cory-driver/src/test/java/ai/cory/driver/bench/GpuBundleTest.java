package ai.cory.driver.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.cory.common.cuda.CudaDevices;
import ai.cory.common.cuda.KernelSource;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The GPU check bundle, built by {@code deploy/build-gpu-bundle.sh} as a user would: it stays
 * under 60 MB, its jlinked runtime starts without a JDK on the path, it compiles every kernel
 * through the NVRTC it is pointed at, its CPU engine (JavaCPP buffers, no ND4J native library)
 * meets the bundled stories260K goldens, and without a driver it refuses in one JSON line with
 * exit status 3 (the parts of the GPU check that need no GPU).
 */
class GpuBundleTest {
  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  private static final Path OUT = Path.of("target", "bundle-test").toAbsolutePath();
  private static final Path BUNDLE = OUT.resolve("gpu-check");

  private record Result(int status, String output) {}

  private static Result exec(Map<String, String> env, String... cmd) throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).directory(ROOT.toFile());
    pb.environment().putAll(env);
    pb.environment().put("PATH", "/usr/bin:/bin"); // the bundle's own java, not the build's
    pb.environment().remove("JAVA_HOME");
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    return new Result(p.waitFor(), out);
  }

  @BeforeAll
  static void build() throws Exception {
    assumeTrue(Files.isRegularFile(Path.of(System.getProperty("java.home"), "bin", "jlink")),
        "this JVM has no jlink");
    ProcessBuilder pb = new ProcessBuilder("bash", ROOT.resolve("deploy/build-gpu-bundle.sh").toString())
        .redirectErrorStream(true).directory(ROOT.toFile());
    pb.environment().put("CORY_BUNDLE_OUT", OUT.toString());
    pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.waitFor(), out);
  }

  @Test
  void theBundleStaysUnder60MbAndHoldsItsRuntimeClassesAndScript() throws IOException {
    long bytes;
    try (Stream<Path> files = Files.walk(BUNDLE)) {
      bytes = files.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
    }
    assertTrue(bytes < 60L << 20, bytes + " bytes");
    assertTrue(Files.isExecutable(BUNDLE.resolve("java/bin/java")));
    assertTrue(Files.isExecutable(BUNDLE.resolve("gpu-check.sh")));
    assertTrue(Files.isRegularFile(BUNDLE.resolve("lib/cory-common.jar")));
    assertTrue(Files.isRegularFile(BUNDLE.resolve("lib/jna.jar")));
    assertTrue(Files.isRegularFile(OUT.resolve("gpu-check.tar.gz")));
    try (Stream<Path> jars = Files.list(BUNDLE.resolve("lib"))) {
      List<String> names = jars.map(j -> j.getFileName().toString()).toList();
      assertTrue(names.stream().anyMatch(n -> n.startsWith("openblas-") && n.endsWith("-linux-x86_64.jar")), names.toString());
      assertTrue(names.stream().noneMatch(n -> n.startsWith("nd4j-native")), names.toString()); // 315 MB
    }
  }

  @Test
  void theBundledEngineMeetsTheGoldensWithoutNd4jsNativeLibrary() throws Exception {
    assumeTrue(Files.isDirectory(BUNDLE.resolve("shared/golden")), "no ../shared to bundle goldens from");
    Result r = exec(Map.of(), BUNDLE.resolve("gpu-check.sh").toString(), "--cpu-goldens");
    assertEquals(0, r.status(), r.output());
    List<String> lines = r.output().lines().filter(l -> l.startsWith("{")).toList();
    assertEquals("{\"host_memory\":\"javacpp\"}", lines.get(0), r.output());
    // stories260K: forward, left-padded batch, greedy KV-cache tokens, loss and gradients
    assertEquals(6, lines.size(), r.output());
    for (String l : lines.subList(1, lines.size())) {
      assertTrue(l.startsWith("{\"check\":\"golden stories260K ") && l.endsWith("\"ok\":true}"), l);
    }
  }

  @Test
  void withoutADriverTheCheckRefusesInOneLineWithStatus3() throws Exception {
    assumeFalse(CudaDevices.probe(false).usable(), "this machine has a GPU");
    Result r = exec(Map.of(), BUNDLE.resolve("gpu-check.sh").toString(), "--no-bench");
    assertEquals(3, r.status(), r.output());
    List<String> lines = r.output().lines().filter(l -> !l.isBlank()).toList();
    assertEquals(1, lines.size(), r.output());
    assertTrue(lines.get(0).startsWith("{\"gpu\":null,\"error\":\"no NVIDIA driver: libcuda.so.1 cannot be loaded"),
        r.output());
  }

  @Test
  void theBundledRuntimeCompilesEveryKernelThroughNvrtc() throws Exception {
    String nvrtc = System.getProperty("cory.test.nvrtc.dir");
    assumeTrue(nvrtc != null && Files.isDirectory(Path.of(nvrtc)), "NVRTC was not unpacked by the build");
    Result r = exec(Map.of("CORY_CUDA_LIB_DIR", nvrtc), BUNDLE.resolve("gpu-check.sh").toString(),
        "--compile", "sm_90");
    assertEquals(0, r.status(), r.output());
    List<String> kernels = r.output().lines().filter(l -> l.startsWith("{\"kernel\"")).toList();
    assertEquals(KernelSource.NAMES.size(), kernels.size(), r.output());
    for (String k : kernels) {
      assertTrue(k.contains("\"arch\":\"sm_90\"") && k.contains("\"log\":\"\""), k);
    }
    Result none = exec(Map.of("CORY_CUDA_LIB_DIR", OUT.toString()), BUNDLE.resolve("gpu-check.sh").toString(),
        "--compile", "sm_90");
    assumeFalse(none.output().contains("\"nvrtc\":\"1"), "this machine has NVRTC on the loader's path");
    assertEquals(3, none.status(), none.output());
    assertTrue(none.output().contains("NVRTC not found: tried " + OUT), none.output());
  }
}
