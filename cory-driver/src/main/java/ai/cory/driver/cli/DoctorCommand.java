package ai.cory.driver.cli;

import ai.cory.common.cuda.CudaDevices;
import ai.cory.common.cuda.CudaException;
import ai.cory.common.cuda.GpuCheck;
import ai.cory.common.cuda.GpuInfo;
import ai.cory.common.cuda.GpuSelection;
import ai.cory.common.cuda.KernelSource;
import ai.cory.common.cuda.Nvrtc;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import org.bytedeco.openblas.global.openblas;

/**
 * {@code bin/cory doctor}: the compute backends this machine can use (CPU features, BLAS, the
 * NVIDIA driver and its GPUs, NVRTC), with {@code --compile-kernels sm_80,...} every CUDA kernel
 * compiled for those targets (one line per kernel and target; no GPU needed), and with
 * {@code --gpu-check} the GPU check ({@link GpuCheck}).
 */
public final class DoctorCommand implements Command {
  private static final List<String> CPU_FLAGS = List.of("avx2", "fma", "avx512f", "avx512_bf16",
      "amx_tile", "asimd", "sve");

  @Override
  public String name() {
    return "doctor";
  }

  @Override
  public String summary() {
    return "print the compute backends this machine can use; compile the CUDA kernels; the GPU check";
  }

  @Override
  public String usage() {
    return String.join("\n",
        "usage: bin/cory doctor [--compile-kernels sm_80,sm_86,sm_89,sm_90]",
        "                       [--gpu-check [--no-bench] [--shared DIR] [--peer PATH [--python EXE]]]",
        "  --compile-kernels LIST  compile every CUDA kernel with NVRTC for each sm_XY target (no GPU",
        "                          needed) and print one line per kernel and target; exit 1 on an error",
        "  --gpu-check             compare every kernel and cuBLAS with float64 references on GPU 0",
        "                          and the engine's forward and backward with the CPU engine's and the",
        "                          PyTorch goldens, then time the GEMMs and the engine's trunk at",
        "                          GPT-2-small and Llama-2-7B shapes (JSON lines)",
        "  --no-bench              with --gpu-check: the comparisons only",
        "  --shared DIR            with --gpu-check: where golden/ and assets/models/ are (default",
        "                          ../shared when it exists; without them the golden checks are skipped",
        "                          with one line saying so)",
        "  --peer PATH             with --gpu-check: also run the PyTorch peer (torch_peer.py) at the",
        "                          engine bench's shapes on the same GPU and print engine_vs_peer lines",
        "  --python EXE            the interpreter with CUDA torch for --peer (default python3)",
        "CUDA libraries are looked for in $CORY_CUDA_LIB_DIR, $CUDA_HOME/lib64, /usr/local/cuda/lib64,",
        "then the loader's path. Exit 3 when what was asked for needs a library or GPU that is missing.");
  }

  @Override
  public int run(String[] argv, PrintStream out) throws Exception {
    Args args = Args.parse(argv, Set.of("compile-kernels", "shared", "peer", "python"),
        Set.of("gpu-check", "no-bench"));
    int[] archs = args.has("compile-kernels") ? targets(args.string("compile-kernels", "")) : null;
    printHost(out);
    CudaDevices.Probe probe = CudaDevices.probe(true);
    printCuda(out, probe);
    Nvrtc nvrtc = printNvrtc(out);
    out.println("backends: cpu usable; cuda " + (probe.usable() && nvrtc != null
        ? "kernels and the GPU check usable on GPU " + probe.gpus().get(0).ordinal()
            + " (training, generate and bench place their models there)"
        : "not usable: " + (probe.usable() ? "no NVRTC" : probe.whyNot())));
    if (archs != null) {
      if (nvrtc == null) {
        return 3;
      }
      int status = compileKernels(out, nvrtc, archs);
      if (status != 0) {
        return status;
      }
    }
    if (args.flag("gpu-check")) {
      String[] peer = args.has("peer")
          ? new String[] {args.string("python", "python3"), args.string("peer", "")} : null;
      return GpuCheck.run(out, args.flag("no-bench"), shared(args), peer);
    }
    return 0;
  }

  /** {@code --shared DIR}, else ../shared when it holds goldens, else null (checks skipped). */
  static Path shared(Args args) {
    if (args.has("shared")) {
      return Path.of(args.string("shared", ""));
    }
    Path repo = Path.of("..", "shared");
    return Files.isDirectory(repo.resolve("golden")) ? repo : null;
  }

  static int[] targets(String list) {
    try {
      return Nvrtc.parseTargets(list);
    } catch (IllegalArgumentException e) {
      throw new Args.UsageException("--compile-kernels: " + e.getMessage());
    }
  }

  private static void printHost(PrintStream out) {
    Runtime rt = Runtime.getRuntime();
    out.printf(Locale.ROOT, "java: %s (%s), %d cores, max heap %.1f GiB%n",
        System.getProperty("java.runtime.version"), System.getProperty("java.vendor"),
        rt.availableProcessors(), rt.maxMemory() / (double) (1L << 30));
    out.println("cpu: " + cpuModel() + "; flags: " + String.join(" ", cpuFlags()));
    out.println("vector api: " + vectorApi());
    out.println("blas: " + openblas.OPENBLAS_VERSION.trim() + " (bytedeco, kernels chosen at load"
        + " for this CPU), OMP_NUM_THREADS=" + System.getenv("OMP_NUM_THREADS"));
  }

  private static void printCuda(PrintStream out, CudaDevices.Probe probe) {
    if (probe.unavailable() != null) {
      out.println("cuda driver: none (" + probe.unavailable() + ")");
      return;
    }
    out.println("cuda driver: CUDA " + probe.driverVersion() + ", " + probe.gpus().size()
        + " GPU(s) visible (CUDA_VISIBLE_DEVICES=" + System.getenv("CUDA_VISIBLE_DEVICES") + ")");
    for (GpuInfo g : probe.gpus()) {
      out.println("  " + g.describe() + (g.arch() < GpuSelection.MIN_ARCH
          ? "  [older than Ampere: not usable]" : ""));
    }
  }

  private static Nvrtc printNvrtc(PrintStream out) {
    try {
      Nvrtc nvrtc = Nvrtc.load();
      out.println("nvrtc: " + nvrtc.version() + " from " + nvrtc.from() + ", targets "
          + Arrays.toString(nvrtc.supportedArchs()));
      return nvrtc;
    } catch (CudaException | UnsatisfiedLinkError e) {
      out.println("nvrtc: none (" + e.getMessage() + ")");
      return null;
    }
  }

  static int compileKernels(PrintStream out, Nvrtc nvrtc, int[] targets) {
    int failures = 0;
    for (Nvrtc.Attempt a : nvrtc.compileAll(KernelSource.all(), targets)) {
      Nvrtc.CompiledKernel k = a.kernel();
      if (k == null) {
        out.printf("kernel %-12s sm_%d: FAILED%n%s%n", a.source().name(), a.arch(), a.error());
        failures++;
      } else {
        out.printf(Locale.ROOT, "kernel %-12s sm_%d: ok, %d entry points, %.1f KiB cubin, %d ms%s%n",
            a.source().name(), a.arch(), a.source().entries().size(), k.cubin().length / 1024.0,
            k.millis(), k.log().isEmpty() ? "" : "\n" + k.log());
      }
    }
    out.println(failures == 0 ? "every kernel compiled for every target"
        : failures + " kernel compilation(s) failed");
    return failures == 0 ? 0 : 1;
  }

  private static String cpuModel() {
    return cpuinfo("model name").orElse(System.getProperty("os.arch"));
  }

  private static List<String> cpuFlags() {
    Set<String> have = new TreeSet<>(Arrays.asList(
        cpuinfo("flags").or(() -> cpuinfo("Features")).orElse("").split("\\s+")));
    List<String> flags = new ArrayList<>();
    for (String f : CPU_FLAGS) {
      if (have.contains(f)) {
        flags.add(f);
      }
    }
    return flags;
  }

  private static java.util.Optional<String> cpuinfo(String key) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (line.startsWith(key) && line.contains(":")) {
          return java.util.Optional.of(line.substring(line.indexOf(':') + 1).trim());
        }
      }
    } catch (IOException | SecurityException e) {
      // not Linux: no details
    }
    return java.util.Optional.empty();
  }

  private static String vectorApi() {
    if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
      return "off (start the JVM with --add-modules jdk.incubator.vector; bin/cory does)";
    }
    try {
      Object species = Class.forName("jdk.incubator.vector.DoubleVector")
          .getField("SPECIES_PREFERRED").get(null);
      int bits = (int) Class.forName("jdk.incubator.vector.VectorSpecies")
          .getMethod("vectorBitSize").invoke(species);
      return "on, " + bits + "-bit vectors (" + bits / 64 + " doubles)";
    } catch (ReflectiveOperationException | RuntimeException e) {
      return "on";
    }
  }
}
