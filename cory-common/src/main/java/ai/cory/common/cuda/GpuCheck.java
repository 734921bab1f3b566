package ai.cory.common.cuda;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The GPU check: what runs first on a GPU machine (from the bundle {@code deploy/gpu-check.sh}
 * runs, or {@code bin/cory doctor --gpu-check}). It needs only the NVIDIA driver and a CUDA
 * installation's NVRTC and cuBLAS: prints the device, compiles every kernel for the device's
 * architecture, compares every kernel and cuBLAS against float64 references, then measures the
 * GEMMs and dequantisation at the GPT-2-small and Llama-2-7B shapes. JSON lines on stdout.
 * Exit status: 0 every comparison within tolerance, 1 one was not, 3 no usable GPU.
 */
public final class GpuCheck {
  private GpuCheck() {}

  public static void main(String[] args) {
    System.exit(run(System.out, args.length > 0 && args[0].equals("--no-bench")));
  }

  /** Runs the check, printing to {@code out}; returns the exit status. */
  public static int run(PrintStream out, boolean skipBench) {
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
      List<CheckResult> results = new ArrayList<>();
      try (DeviceArena arena = ctx.arena(3L << 30)) {
        DeviceScratch d = new DeviceScratch(ctx, arena, 20261202L);
        results.addAll(new LayerChecks(d).run());
        results.addAll(new AttentionChecks(d).run());
        results.addAll(new SamplingChecks(d).run());
        results.addAll(new GemmChecks(d).run());
      }
      for (CheckResult r : results) {
        out.println(r.json());
        failed += r.ok() ? 0 : 1;
      }
      out.println("{\"checks\":" + results.size() + ",\"failed\":" + failed + "}");
      if (!skipBench) {
        new GemmBench(ctx).run().forEach(out::println);
      }
    }
    return failed == 0 ? 0 : 1;
  }

  static String json(String s) {
    return s == null ? "" : s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", " ");
  }
}
