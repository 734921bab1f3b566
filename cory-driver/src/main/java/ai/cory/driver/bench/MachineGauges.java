package ai.cory.driver.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** What the machine can do and how much memory the process holds, for benchmark reports. */
final class MachineGauges {
  private MachineGauges() {}

  /**
   * Raw float32 GEMM rate of this process right now: {@code (512, 768) x (768, 768)^T} through the
   * same OpenBLAS the engine calls, repeated for {@code seconds} (the PyTorch peer script probes
   * the same product with {@code F.linear}, so the two gauges are comparable).
   */
  static double gemmGflops(double seconds) {
    final int m = 512;
    final int k = 768;
    final int n = 768;
    INDArray a = Nd4j.rand(DataType.FLOAT, m, k);
    INDArray b = Nd4j.rand(DataType.FLOAT, n, k);
    INDArray c = Nd4j.create(DataType.FLOAT, m, n);
    FloatPointer pa = new FloatPointer(a.data().addressPointer());
    FloatPointer pb = new FloatPointer(b.data().addressPointer());
    FloatPointer pc = new FloatPointer(c.data().addressPointer());
    for (int i = 0; i < 3; i++) { // warm-up: thread pool start, page faults
      openblas.cblas_sgemm(openblas.CblasRowMajor, openblas.CblasNoTrans, openblas.CblasTrans,
          m, n, k, 1f, pa, k, pb, k, 0f, pc, n);
    }
    long calls = 0;
    long start = System.nanoTime();
    long deadline = start + (long) (seconds * 1e9);
    long now;
    do {
      openblas.cblas_sgemm(openblas.CblasRowMajor, openblas.CblasNoTrans, openblas.CblasTrans,
          m, n, k, 1f, pa, k, pb, k, 0f, pc, n);
      calls++;
      now = System.nanoTime();
    } while (now < deadline);
    return calls * 2.0 * m * n * k / ((now - start) / 1e9) / 1e9;
  }

  /** Peak resident set size of this process in MiB (VmHWM), or -1 where /proc is absent. */
  static double peakRssMiB() {
    return procStatusMiB("VmHWM:");
  }

  /** Current resident set size in MiB (VmRSS), or -1. */
  static double rssMiB() {
    return procStatusMiB("VmRSS:");
  }

  /** Java heap in use, MiB. */
  static double heapUsedMiB() {
    Runtime rt = Runtime.getRuntime();
    return (rt.totalMemory() - rt.freeMemory()) / (1024.0 * 1024.0);
  }

  /** Java heap committed (reserved and backed), MiB. */
  static double heapCommittedMiB() {
    return Runtime.getRuntime().totalMemory() / (1024.0 * 1024.0);
  }

  static int threads() {
    String omp = System.getenv("OMP_NUM_THREADS");
    if (omp != null && !omp.isBlank()) {
      try {
        return Integer.parseInt(omp.trim());
      } catch (NumberFormatException ignored) {
        // fall through to the core count
      }
    }
    return Runtime.getRuntime().availableProcessors();
  }

  private static double procStatusMiB(String key) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith(key)) {
          String[] parts = line.substring(key.length()).trim().split("\\s+");
          return Long.parseLong(parts[0]) / 1024.0; // kB
        }
      }
    } catch (IOException | RuntimeException e) {
      return -1;
    }
    return -1;
  }
}
