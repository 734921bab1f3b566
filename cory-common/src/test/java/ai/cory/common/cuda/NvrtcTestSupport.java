package ai.cory.common.cuda;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/** NVRTC for tests: the copy the build unpacked from its Maven artifact (cory.test.nvrtc.dir). */
public final class NvrtcTestSupport {
  private NvrtcTestSupport() {}

  /** The directory holding libnvrtc; skips the test when the build did not unpack it. */
  public static Path nvrtcDir() {
    String dir = System.getProperty("cory.test.nvrtc.dir");
    assumeTrue(dir != null && Files.isDirectory(Path.of(dir)),
        "NVRTC was not unpacked by the build (cory.test.nvrtc.dir): " + dir);
    return Path.of(dir);
  }

  /** NVRTC loaded from {@link #nvrtcDir()}, whatever else this machine has. */
  public static Nvrtc nvrtc() {
    System.setProperty(CudaLibraries.DIR_PROPERTY, nvrtcDir().toString());
    return Nvrtc.load();
  }
}
