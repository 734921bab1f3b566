package ai.cory.common.cuda;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Finds and loads the CUDA libraries of the machine's installation through JNA: the driver
 * ({@code libcuda.so.1}, from the NVIDIA driver, found by the system loader only), NVRTC and
 * cuBLAS of CUDA 13.x or 12.x. Directories searched, first hit wins: the system property
 * {@value #DIR_PROPERTY}, the environment variable {@value #DIR_ENV} (both may list several
 * directories separated by {@code :}), {@code $CUDA_HOME/lib64}, {@code $CUDA_PATH/lib64},
 * {@code /usr/local/cuda/lib64}, then the system loader's path ({@code LD_LIBRARY_PATH},
 * {@code ldconfig}). NVRTC's builtins library ({@code libnvrtc-builtins.so.*}), which NVRTC opens
 * by name, is loaded first from the same directory, so a copy outside the loader's path works.
 */
public final class CudaLibraries {
  /** System property naming extra library directories. */
  public static final String DIR_PROPERTY = "cory.cuda.lib-dir";
  /** Environment variable naming extra library directories. */
  public static final String DIR_ENV = "CORY_CUDA_LIB_DIR";

  private static final String[] NVRTC = {"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"};
  private static final String[] CUBLAS = {"libcublas.so.13", "libcublas.so.12", "libcublas.so"};

  private CudaLibraries() {}

  /** The directories searched before the system loader's path, in order. */
  public static List<Path> searchDirectories() {
    return searchDirectories(System.getProperty(DIR_PROPERTY), System.getenv());
  }

  static List<Path> searchDirectories(String property, Map<String, String> env) {
    Set<Path> dirs = new LinkedHashSet<>();
    addAll(dirs, property);
    addAll(dirs, env.get(DIR_ENV));
    for (String home : new String[] {env.get("CUDA_HOME"), env.get("CUDA_PATH")}) {
      if (home != null && !home.isBlank()) {
        dirs.add(Path.of(home, "lib64"));
      }
    }
    dirs.add(Path.of("/usr/local/cuda/lib64"));
    return new ArrayList<>(dirs);
  }

  private static void addAll(Set<Path> dirs, String list) {
    if (list == null) {
      return;
    }
    for (String d : list.split(File.pathSeparator)) {
      if (!d.isBlank()) {
        dirs.add(Path.of(d.trim()));
      }
    }
  }

  /** The CUDA driver API; fails with the reason when no NVIDIA driver is installed. */
  public static CudaDriverApi driver() {
    try {
      return Native.load("libcuda.so.1", CudaDriverApi.class); // the driver's soname
    } catch (UnsatisfiedLinkError e) {
      try {
        return Native.load("cuda", CudaDriverApi.class);
      } catch (UnsatisfiedLinkError e2) {
        throw new CudaException("no NVIDIA driver: libcuda.so.1 cannot be loaded ("
            + loaderReason(e.getMessage()) + ")", e);
      }
    }
  }

  /** NVRTC; fails with the directories searched when none is found. */
  public static Loaded<NvrtcApi> nvrtc() {
    return load("NVRTC", NVRTC, NvrtcApi.class, true);
  }

  /** cuBLAS; fails with the directories searched when none is found. */
  public static Loaded<CublasApi> cublas() {
    return load("cuBLAS", CUBLAS, CublasApi.class, false);
  }

  /** A loaded library and the file or name it came from. */
  public record Loaded<T>(T api, String from) {}

  private static <T extends Library> Loaded<T> load(String what, String[] names, Class<T> type,
      boolean builtins) {
    List<String> tried = new ArrayList<>();
    for (Path dir : searchDirectories()) {
      for (String name : names) {
        Path file = dir.resolve(name);
        if (Files.isRegularFile(file)) {
          if (builtins) {
            preloadBuiltins(dir);
          }
          return new Loaded<>(Native.load(file.toString(), type), file.toString());
        }
      }
      tried.add(dir.toString());
    }
    for (String name : names) {
      try {
        return new Loaded<>(Native.load(name, type), name);
      } catch (UnsatisfiedLinkError e) {
        // next name
      }
    }
    throw new CudaException(what + " not found: tried " + String.join(", ", tried)
        + " and the system loader's path for " + String.join(", ", names) + "; set "
        + DIR_ENV + " to the directory holding it (a CUDA 12.x or 13.x installation's lib64)");
  }

  private static void preloadBuiltins(Path dir) {
    try (Stream<Path> files = Files.list(dir)) {
      files.filter(f -> f.getFileName().toString().startsWith("libnvrtc-builtins.so"))
          .sorted()
          .forEach(f -> NativeLibrary.getInstance(f.toString()));
    } catch (java.io.IOException e) {
      throw new CudaException("cannot list " + dir + ": " + e.getMessage(), e);
    }
  }

  /** The system loader's reason in JNA's message ({@code ...: cannot open shared object file}). */
  static String loaderReason(String message) {
    if (message != null) {
      for (String line : message.split("\n")) {
        if (line.contains(".so") && line.contains(": ") && !line.startsWith("Unable to load")
            && !line.startsWith("Native library")) {
          return line.trim();
        }
      }
    }
    return firstLine(message);
  }

  static String firstLine(String s) {
    if (s == null) {
      return "no message";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }
}
