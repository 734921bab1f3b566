package ai.cory.common.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The GPU check's every launch, copy and GEMM without a GPU, through {@link ValidatingDevice}:
 * each kernel is launched with arguments that match its CUDA declaration, within launch limits
 * and inside live allocations, and every kernel entry point is exercised by some comparison.
 * Only the arithmetic is left for a GPU.
 */
class GpuCheckLaunchesTest {
  @Test
  void everyComparisonLaunchesValidlyAndEveryKernelIsCompared() {
    ValidatingDevice device = new ValidatingDevice();
    List<CheckResult> results = GpuCheck.comparisons(device);
    Set<String> entries = new TreeSet<>();
    for (KernelSource s : KernelSource.all()) {
      entries.addAll(s.entries());
    }
    assertEquals(entries, device.launched, "kernels the GPU check never compares");
    // fp32, tf32, bf16 on float32 operands and on bf16-stored ones x NN, NT, TN
    assertEquals(12, device.gemms);
    assertTrue(results.size() >= 25, results.size() + " comparisons");
    for (CheckResult r : results) {
      assertTrue(r.tolerance() >= 0 && r.tolerance() <= 0.02, r.json());
    }
  }

  @Test
  void theGemmBenchLaunchesValidly() {
    ValidatingDevice device = new ValidatingDevice();
    List<String> lines = new GemmBench(device).run();
    // per shape: 5 projections x (3 maths + bf16-stored operands); the dequantisation and the
    // decode step's packed product of the 7B MLP matrix
    assertEquals(2 * 5 * 4 + 2, lines.size(), lines.toString());
    assertEquals(Set.of("dequant_nf4", "gemv_packed"), device.launched);
    assertTrue(lines.get(lines.size() - 1).startsWith("{\"bench\":\"gemv_packed_nf4\",\"model\":"
        + "\"llama-2-7b\",\"n\":4,\"rows\":11008,\"cols\":4096,"), lines.get(lines.size() - 1));
  }

  @Test
  void reductionsAreRecognisedFromTheSources() {
    Set<String> reducing = new ValidatingDevice().reducingKernels();
    for (String k : List.of("rmsnorm_forward", "layernorm_backward", "attention_forward",
        "attention_backward_query", "attention_cached", "vocab_forward", "sample_tokens",
        "gemv_packed")) {
      assertTrue(reducing.contains(k), k + " " + reducing);
    }
    assertTrue(!reducing.contains("attention_backward_key") && !reducing.contains("gelu_forward"), reducing.toString());
  }

  @Test
  void signaturesComeFromTheDeclarationsAndWrongArgumentsAreNamed() {
    KernelSignature rms = KernelSource.allSignatures().get("rmsnorm_forward");
    assertEquals(List.of(KernelSignature.Kind.POINTER, KernelSignature.Kind.POINTER,
        KernelSignature.Kind.POINTER, KernelSignature.Kind.POINTER, KernelSignature.Kind.INT,
        KernelSignature.Kind.INT, KernelSignature.Kind.FLOAT),
        rms.params().stream().map(KernelSignature.Param::kind).toList());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> rms.check(new Object[] {1L, 2L, 3L, 4L, 8, 768, 1e-5}));
    assertEquals("kernel rmsnorm_forward argument 6 (float eps) needs a Float, got Double 1.0E-5", e.getMessage());
    IllegalArgumentException count = assertThrows(IllegalArgumentException.class,
        () -> rms.check(new Object[] {1L, 2L}));
    assertTrue(count.getMessage().startsWith("kernel rmsnorm_forward takes 7 arguments (float* out, "), count.getMessage());
    assertEquals(KernelSignature.Kind.LONG,
        KernelSource.allSignatures().get("gelu_forward").params().get(2).kind());
  }
}
