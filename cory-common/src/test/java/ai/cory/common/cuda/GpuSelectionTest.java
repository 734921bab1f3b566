package ai.cory.common.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Which GPU an executor takes, and each refusal's one line. */
class GpuSelectionTest {
  private static final long GIB = 1L << 30;
  private static final GpuInfo H200 = new GpuInfo(0, "NVIDIA H200", 9, 0, 140 * GIB, 139 * GIB);
  private static final GpuInfo A10 = new GpuInfo(1, "NVIDIA A10", 8, 6, 24 * GIB, 22 * GIB);
  private static final GpuInfo V100 = new GpuInfo(0, "Tesla V100-SXM2-32GB", 7, 0, 32 * GIB, 31 * GIB);
  private static final CudaDevices.Probe TWO = new CudaDevices.Probe(null, "13.0", List.of(H200, A10));

  @Test
  void localRunsTakeOrdinalZeroAndClustersTheAssignedAddress() {
    assertEquals(H200, GpuSelection.select(TWO, List.of(), 10 * GIB, "executor driver").gpu());
    assertEquals(A10, GpuSelection.select(TWO, List.of("1"), 10 * GIB, "executor 2").gpu());
  }

  @Test
  void noDriverIsRefusedWithTheReason() {
    CudaDevices.Probe none = new CudaDevices.Probe(
        "no NVIDIA driver: libcuda.so.1 cannot be loaded (libcuda.so.1: cannot open shared object file)",
        null, List.of());
    GpuSelection.Selection s = GpuSelection.select(none, List.of(), GIB, "executor 3 on host-a");
    assertFalse(s.ok());
    assertEquals("executor 3 on host-a has no usable GPU: no NVIDIA driver: libcuda.so.1 cannot be "
        + "loaded (libcuda.so.1: cannot open shared object file)", s.refusal());
  }

  @Test
  void aDriverWithoutGpusIsRefused() {
    CudaDevices.Probe empty = new CudaDevices.Probe(null, "12.4", List.of());
    String why = GpuSelection.select(empty, List.of(), GIB, "executor 1").refusal();
    assertTrue(why.startsWith("executor 1 has no usable GPU: the NVIDIA driver (CUDA 12.4) shows no GPU"), why);
  }

  @Test
  void badAddressesAreRefused() {
    assertTrue(GpuSelection.select(TWO, List.of("GPU-1a2b"), GIB, "executor 4").refusal()
        .contains("'GPU-1a2b' by Spark, which is not a CUDA device ordinal"));
    assertTrue(GpuSelection.select(TWO, List.of("2"), GIB, "executor 4").refusal()
        .startsWith("executor 4 was assigned GPU 2 but the driver shows it 2 GPU(s)"));
  }

  @Test
  void preAmpereGpusAreRefused() {
    CudaDevices.Probe old = new CudaDevices.Probe(null, "12.2", List.of(V100));
    assertEquals("executor 5: GPU 0: Tesla V100-SXM2-32GB, sm_70, 32.0 GiB (31.0 GiB free) is older "
        + "than Ampere; the CUDA backend needs compute capability 8.0 or newer (sm_80, sm_86, "
        + "sm_89, sm_90)", GpuSelection.select(old, List.of(), GIB, "executor 5").refusal());
  }

  @Test
  void aGpuTooSmallForTheMemoryPlanIsRefusedWithBothSizes() {
    String why = GpuSelection.select(TWO, List.of("1"), 30 * GIB, "executor 6").refusal();
    assertTrue(why.startsWith("executor 6: GPU 1: NVIDIA A10, sm_86, 24.0 GiB (22.0 GiB free) cannot "
        + "hold the replica: the memory plan needs 30.0 GiB"), why);
  }
}
