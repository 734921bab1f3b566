package ai.cory.common.cuda;

import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * NVRTC, the runtime CUDA C compiler: kernel sources to SASS (a cubin) for one exact
 * architecture. It needs neither a GPU nor a driver, so every kernel is compiled for every
 * target in the tests on a plain machine. Cubins rather than PTX: a newer NVRTC's PTX may be too
 * new for the executor's driver to JIT (STACK.md), SASS for the device's own architecture is not.
 */
public final class Nvrtc {
  /** Options for every kernel: exact IEEE arithmetic (no fast math), C++17, no host code. */
  static final List<String> BASE_OPTIONS = List.of("--std=c++17", "-default-device",
      "--fmad=true", "--extra-device-vectorization");

  private final NvrtcApi api;
  private final String from;

  private Nvrtc(NvrtcApi api, String from) {
    this.api = api;
    this.from = from;
  }

  /** NVRTC of this machine ({@link CudaLibraries}); fails clearly when there is none. */
  public static Nvrtc load() {
    CudaLibraries.Loaded<NvrtcApi> lib = CudaLibraries.nvrtc();
    return new Nvrtc(lib.api(), lib.from());
  }

  /** The library file (or name) loaded. */
  public String from() {
    return from;
  }

  /** {@code major.minor} of this NVRTC. */
  public String version() {
    IntByReference major = new IntByReference();
    IntByReference minor = new IntByReference();
    check("nvrtcVersion", api.nvrtcVersion(major, minor));
    return major.getValue() + "." + minor.getValue();
  }

  /** The {@code sm_XY} targets this NVRTC can compile for, as integers {@code XY}. */
  public int[] supportedArchs() {
    IntByReference n = new IntByReference();
    check("nvrtcGetNumSupportedArchs", api.nvrtcGetNumSupportedArchs(n));
    int[] archs = new int[n.getValue()];
    check("nvrtcGetSupportedArchs", api.nvrtcGetSupportedArchs(archs));
    return archs;
  }

  /**
   * Compiles one source for {@code sm_<arch>}; a compile error throws with NVRTC's log.
   *
   * @param arch compute capability as {@code 10 * major + minor}, e.g. 80, 86, 89, 90
   */
  public CompiledKernel compile(KernelSource source, int arch) {
    long t0 = System.nanoTime();
    PointerByReference prog = new PointerByReference();
    check("nvrtcCreateProgram",
        api.nvrtcCreateProgram(prog, source.text(), source.name() + ".cu", 0, null, null));
    Pointer p = prog.getValue();
    try {
      List<String> options = new ArrayList<>(BASE_OPTIONS);
      options.add("--gpu-architecture=sm_" + arch);
      int rc = api.nvrtcCompileProgram(p, options.size(), options.toArray(new String[0]));
      String log = log(p);
      if (rc != 0) {
        throw new CudaException("NVRTC cannot compile " + source.name() + " for sm_" + arch
            + ": " + api.nvrtcGetErrorString(rc) + "\n" + log);
      }
      LongByReference size = new LongByReference();
      check("nvrtcGetCUBINSize", api.nvrtcGetCUBINSize(p, size));
      byte[] cubin = new byte[Math.toIntExact(size.getValue())];
      check("nvrtcGetCUBIN", api.nvrtcGetCUBIN(p, cubin));
      return new CompiledKernel(source.name(), arch, cubin, log,
          (System.nanoTime() - t0) / 1_000_000);
    } finally {
      api.nvrtcDestroyProgram(prog);
    }
  }

  private String log(Pointer p) {
    LongByReference size = new LongByReference();
    check("nvrtcGetProgramLogSize", api.nvrtcGetProgramLogSize(p, size));
    byte[] log = new byte[Math.toIntExact(size.getValue())];
    check("nvrtcGetProgramLog", api.nvrtcGetProgramLog(p, log));
    int end = log.length;
    while (end > 0 && (log[end - 1] == 0 || log[end - 1] == '\n')) {
      end--;
    }
    return new String(log, 0, end, StandardCharsets.UTF_8);
  }

  private void check(String call, int rc) {
    if (rc != 0) {
      throw new CudaException(call + " failed: " + api.nvrtcGetErrorString(rc));
    }
  }

  /** One kernel source compiled for one architecture. */
  public record CompiledKernel(String name, int arch, byte[] cubin, String log, long millis) {}

  /** One source for one target: its cubin, or why there is none ({@code kernel} null). */
  public record Attempt(KernelSource source, int arch, CompiledKernel kernel, String error) {}

  /**
   * Every source for every target, source by source; a target this NVRTC cannot compile for and
   * a compile error are attempts with their error.
   */
  public List<Attempt> compileAll(List<KernelSource> sources, int[] archs) {
    Set<Integer> supported = new TreeSet<>();
    for (int a : supportedArchs()) {
      supported.add(a);
    }
    List<Attempt> out = new ArrayList<>();
    for (KernelSource source : sources) {
      for (int arch : archs) {
        if (!supported.contains(arch)) {
          out.add(new Attempt(source, arch, null, "NVRTC " + version()
              + " cannot target sm_" + arch + " (it targets " + supported + ")"));
          continue;
        }
        try {
          out.add(new Attempt(source, arch, compile(source, arch), null));
        } catch (CudaException e) {
          out.add(new Attempt(source, arch, null, e.getMessage()));
        }
      }
    }
    return out;
  }

  /** {@code "sm_80,sm_90"} as {@code {80, 90}}; throws naming an entry that is not sm_XY. */
  public static int[] parseTargets(String list) {
    List<Integer> archs = new ArrayList<>();
    for (String t : list.split(",")) {
      String s = t.trim().toLowerCase(Locale.ROOT);
      if (!s.matches("sm_[0-9]{2,3}")) {
        throw new IllegalArgumentException("'" + t + "' is not an sm_XY target (e.g. sm_80)");
      }
      archs.add(Integer.parseInt(s.substring(3)));
    }
    return archs.stream().mapToInt(Integer::intValue).toArray();
  }
}
