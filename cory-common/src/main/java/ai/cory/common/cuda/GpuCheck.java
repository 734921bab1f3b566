package ai.cory.common.cuda;

import ai.cory.common.model.HostMemory;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The GPU check: what runs first on a GPU machine (from the bundle {@code deploy/gpu-check.sh}
 * runs, or {@code bin/cory doctor --gpu-check}). It needs only the NVIDIA driver and a CUDA
 * installation's NVRTC and cuBLAS: prints the device, compiles every kernel for the device's
 * architecture, compares every kernel and cuBLAS against float64 references and the engine's
 * forward and backward on the device against the CPU engine ({@link EngineChecks}) and the
 * PyTorch goldens ({@link GoldenChecks}), then measures the GEMMs and dequantisation at the
 * GPT-2-small and Llama-2-7B shapes and the engine's score and train passes ({@link
 * EngineBench}). JSON lines on stdout.
 * Exit status: 0 every comparison within tolerance, 1 one was not, 3 no usable GPU.
 */
public final class GpuCheck {
  private GpuCheck() {}

  private static final String USAGE = "usage: GpuCheck [--no-bench] [--shared DIR] | --compile "
      + "sm_80,sm_86,sm_89,sm_90 | --cpu-goldens --shared DIR";

  /**
   * {@code [--no-bench] [--shared DIR] | --compile sm_80,sm_90,... | --cpu-goldens --shared
   * DIR}; the last runs the golden comparisons on the CPU engine, no GPU needed: the bundle's
   * proof that its engine loads and computes without ND4J's native library.
   */
  public static void main(String[] args) {
    if (args.length >= 2 && args[0].equals("--compile")) {
      System.exit(compile(System.out, args[1]));
    }
    boolean noBench = false;
    boolean cpuGoldens = false;
    Path shared = null;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--no-bench" -> noBench = true;
        case "--cpu-goldens" -> cpuGoldens = true;
        case "--shared" -> shared = i + 1 < args.length ? Path.of(args[++i]) : null;
        default -> {
          System.err.println(USAGE);
          System.exit(2);
        }
      }
    }
    System.exit(cpuGoldens ? cpuGoldens(System.out, shared) : run(System.out, noBench, shared, null));
  }

  /** The golden comparisons on the CPU engine; exit status 0, 1 (one failed), 3 (no goldens). */
  static int cpuGoldens(PrintStream out, Path shared) {
    String why = GoldenChecks.unavailable(shared);
    if (why == null) {
      why = engineUnavailable();
    }
    if (why != null) {
      out.println("{\"goldens\":null,\"why\":\"" + json(why) + "\"}");
      return 3;
    }
    out.println("{\"host_memory\":\"" + (HostMemory.nd4j() ? "nd4j" : "javacpp") + "\"}");
    int failed = 0;
    for (CheckResult r : goldenComparisonsOnHost(shared)) {
      out.println(r.json());
      failed += r.ok() ? 0 : 1;
    }
    return failed == 0 ? 0 : 1;
  }

  private static List<CheckResult> goldenComparisonsOnHost(Path shared) {
    try {
      return GoldenChecks.onHost(shared);
    } catch (IOException e) {
      throw new UncheckedIOException("reading the goldens under " + shared, e);
    }
  }

  /**
   * Compiles every kernel for each listed target with this machine's NVRTC (no GPU needed): the
   * bundle's start-up check. Exit status 0, 1 when a kernel failed, 3 without NVRTC.
   */
  public static int compile(PrintStream out, String targets) {
    int[] archs;
    try {
      archs = Nvrtc.parseTargets(targets);
    } catch (IllegalArgumentException e) {
      System.err.println("GpuCheck --compile: " + e.getMessage());
      return 2;
    }
    Nvrtc nvrtc;
    try {
      nvrtc = Nvrtc.load();
    } catch (CudaException e) {
      out.println("{\"nvrtc\":null,\"error\":\"" + json(e.getMessage()) + "\"}");
      return 3;
    }
    out.println("{\"nvrtc\":\"" + nvrtc.version() + "\",\"nvrtc_from\":\"" + json(nvrtc.from()) + "\"}");
    int failed = 0;
    for (Nvrtc.Attempt a : nvrtc.compileAll(KernelSource.all(), archs)) {
      Nvrtc.CompiledKernel k = a.kernel();
      if (k == null) {
        out.println("{\"kernel\":\"" + a.source().name() + "\",\"arch\":\"sm_" + a.arch()
            + "\",\"error\":\"" + json(a.error()) + "\"}");
        failed++;
      } else {
        out.println(String.format(Locale.ROOT, "{\"kernel\":\"%s\",\"arch\":\"sm_%d\","
            + "\"entries\":%d,\"cubin_bytes\":%d,\"log\":\"%s\",\"ms\":%d}", a.source().name(),
            a.arch(), a.source().entries().size(), k.cubin().length, json(k.log()), k.millis()));
      }
    }
    return failed == 0 ? 0 : 1;
  }

  /**
   * Runs the check, printing to {@code out}; returns the exit status.
   *
   * @param shared the directory holding {@code golden/} and {@code assets/models/} for the
   *               golden comparisons, or null (they are then skipped with one line saying so)
   * @param peer   {@code {python, torch_peer.py}} to run the PyTorch peer at the engine bench's
   *               shapes and print the two side by side, or null
   */
  public static int run(PrintStream out, boolean skipBench, Path shared, String[] peer) {
    CudaDevices.Probe probe = CudaDevices.probe(true);
    if (!probe.usable()) {
      out.println("{\"gpu\":null,\"error\":\"" + json(probe.whyNot()) + "\"}");
      return 3;
    }
    GpuInfo gpu = probe.gpus().get(0);
    out.println(String.format(Locale.ROOT, "{\"gpu\":\"%s\",\"arch\":\"sm_%d\",\"memory_gib\":%.1f,"
        + "\"driver_cuda\":\"%s\",\"gpus\":%d}", json(gpu.name()), gpu.arch(),
        gpu.totalBytes() / (double) (1L << 30), probe.driverVersion(), probe.gpus().size()));
    Nvrtc nvrtc = Nvrtc.load();
    long t0 = System.nanoTime();
    KernelCache cache = KernelCache.standard(nvrtc);
    int failed = 0;
    try (CudaContext ctx = CudaContext.open(gpu, cache)) {
      out.println(String.format(Locale.ROOT, "{\"nvrtc\":\"%s\",\"nvrtc_from\":\"%s\","
          + "\"cublas\":%d,\"cublas_from\":\"%s\",\"kernels_ready_s\":%.2f}", nvrtc.version(),
          json(nvrtc.from()), ctx.cublas().version(), json(ctx.cublas().from()),
          (System.nanoTime() - t0) / 1e9));
      List<CheckResult> results = new ArrayList<>(comparisons(ctx));
      String noEngine = engineUnavailable();
      if (noEngine == null) {
        results.addAll(engineComparisons(ctx));
        String noGoldens = GoldenChecks.unavailable(shared);
        if (noGoldens == null) {
          results.addAll(goldenComparisons(ctx, shared));
        } else {
          out.println("{\"goldens\":null,\"why\":\"" + json(noGoldens) + "\"}");
        }
      } else {
        out.println("{\"engine\":null,\"why\":\"" + json(noEngine) + "\"}");
      }
      for (CheckResult r : results) {
        out.println(r.json());
        failed += r.ok() ? 0 : 1;
      }
      out.println("{\"checks\":" + results.size() + ",\"failed\":" + failed + "}");
      if (!skipBench) {
        new GemmBench(ctx).run().forEach(out::println);
        if (noEngine == null) {
          List<EngineBench.Result> engine = new EngineBench(ctx, EngineBench.CASES).results();
          engine.forEach(r -> out.println(r.json()));
          if (peer != null) {
            new PeerBench(peer[0], Path.of(peer[1])).compare(engine, out);
          }
        }
      }
    }
    return failed == 0 ? 0 : 1;
  }

  /** Bytes of device memory the comparisons use. */
  static final long COMPARISON_BYTES = 1L << 30;

  /** Every comparison, in order, on {@code ops}. */
  static List<CheckResult> comparisons(DeviceOps ops) {
    List<CheckResult> results = new ArrayList<>();
    try (DeviceArena arena = ops.arena(COMPARISON_BYTES)) {
      DeviceScratch d = new DeviceScratch(ops, arena, 20261202L);
      results.addAll(new LayerChecks(d).run());
      results.addAll(new AttentionChecks(d).run());
      results.addAll(new SamplingChecks(d).run());
      results.addAll(new GemmChecks(d).run());
    }
    return results;
  }

  /**
   * Why the engine comparisons cannot run here, or null when they can: the CPU engine they
   * compare with needs OpenBLAS (JavaCPP's) and ND4J's data types, not ND4J's native backend
   * (without it the engine's buffers are JavaCPP allocations, {@code HostMemory}).
   */
  static String engineUnavailable() {
    for (String c : new String[] {"org.bytedeco.openblas.global.openblas",
        "org.nd4j.linalg.api.buffer.DataType"}) {
      try {
        Class.forName(c, false, GpuCheck.class.getClassLoader());
      } catch (ClassNotFoundException | LinkageError e) {
        return "no " + c + " on the class path: the engine's comparisons and benchmark need "
            + "OpenBLAS and ND4J's API jar (bin/cory doctor --gpu-check has them)";
      }
    }
    return null;
  }

  /** The engine's forward and backward on the device against the CPU engine. */
  static List<CheckResult> engineComparisons(DeviceOps ops) {
    return new EngineChecks(ops).run();
  }

  /** The engine on the device against the PyTorch goldens under {@code shared}. */
  static List<CheckResult> goldenComparisons(DeviceOps ops, Path shared) {
    try {
      return GoldenChecks.onDevice(ops, shared);
    } catch (IOException e) {
      throw new UncheckedIOException("reading the goldens under " + shared, e);
    }
  }

  static String json(String s) {
    return s == null ? "" : s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", " ");
  }
}
