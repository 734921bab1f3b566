package ai.cory.common.cuda;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;

/**
 * Compiled kernels on disk: a cubin per (source, architecture, NVRTC version, options), so an
 * executor compiles each kernel once per machine rather than once per replica. The directory is
 * the system property {@value #DIR_PROPERTY}, else {@code $CORY_CUDA_CACHE}, else
 * {@code $XDG_CACHE_HOME/cory/cubin} or {@code ~/.cache/cory/cubin}; where it cannot be written
 * (a read-only home in a container) kernels are compiled without caching.
 */
public final class KernelCache {
  public static final String DIR_PROPERTY = "cory.cuda.cache-dir";

  private final Nvrtc nvrtc;
  private final Path dir; // null: no caching

  public KernelCache(Nvrtc nvrtc, Path dir) {
    this.nvrtc = nvrtc;
    this.dir = usable(dir) ? dir : null;
  }

  /** The cache in the default directory. */
  public static KernelCache standard(Nvrtc nvrtc) {
    return new KernelCache(nvrtc, defaultDir(System.getProperty(DIR_PROPERTY), System.getenv()));
  }

  static Path defaultDir(String property, Map<String, String> env) {
    if (property != null && !property.isBlank()) {
      return Path.of(property);
    }
    if (env.get("CORY_CUDA_CACHE") != null) {
      return Path.of(env.get("CORY_CUDA_CACHE"));
    }
    String xdg = env.get("XDG_CACHE_HOME");
    return xdg != null ? Path.of(xdg, "cory", "cubin")
        : Path.of(System.getProperty("user.home"), ".cache", "cory", "cubin");
  }

  /** The directory used, or null when kernels are not cached. */
  public Path dir() {
    return dir;
  }

  /** The cubin of {@code source} for {@code sm_<arch>}: from the cache, else compiled. */
  public byte[] cubin(KernelSource source, int arch) {
    if (dir == null) {
      return nvrtc.compile(source, arch).cubin();
    }
    Path file = dir.resolve(source.name() + "-sm_" + arch + "-" + key(source, arch) + ".cubin");
    try {
      if (Files.isRegularFile(file)) {
        return Files.readAllBytes(file);
      }
      byte[] cubin = nvrtc.compile(source, arch).cubin();
      Path tmp = Files.createTempFile(dir, source.name(), ".tmp");
      Files.write(tmp, cubin);
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      return cubin;
    } catch (IOException e) {
      return nvrtc.compile(source, arch).cubin();
    }
  }

  private String key(KernelSource source, int arch) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      sha.update((nvrtc.version() + "|" + Nvrtc.BASE_OPTIONS + "|" + arch + "|")
          .getBytes(StandardCharsets.UTF_8));
      sha.update(source.text().getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(sha.digest(), 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static boolean usable(Path dir) {
    if (dir == null) {
      return false;
    }
    try {
      Files.createDirectories(dir);
      return Files.isWritable(dir);
    } catch (IOException | SecurityException e) {
      return false;
    }
  }
}
