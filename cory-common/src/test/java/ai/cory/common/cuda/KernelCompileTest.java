package ai.cory.common.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every CUDA kernel source compiles through NVRTC (from its Maven artifact, no GPU, no driver)
 * to SASS for Ampere (sm_80, sm_86), Ada (sm_89) and Hopper (sm_90) with an empty compiler log,
 * and every entry point the backend launches is in each cubin.
 */
class KernelCompileTest {
  static final int[] TARGETS = {80, 86, 89, 90};

  /** The entry points the backend and the GPU check launch, by source. */
  static final List<String> EXPECTED = List.of(
      "gelu_forward", "gelu_backward", "swiglu_forward", "swiglu_backward", "axpy", "scale",
      "column_sum", "add_bias", "f32_to_bf16_kernel", "bf16_to_f32_kernel",
      "rmsnorm_forward", "rmsnorm_backward", "rmsnorm_dw", "layernorm_forward",
      "layernorm_backward", "layernorm_dwdb", "rope_apply", "embedding_forward",
      "embedding_backward", "attention_forward", "attention_backward_query",
      "attention_backward_key", "kv_cache_write", "attention_cached", "vocab_forward",
      "vocab_backward", "sample_tokens", "adam_step", "dequant_half", "dequant_int8",
      "dequant_nf4", "gemv_packed");

  private static Nvrtc nvrtc;

  @BeforeAll
  static void load() {
    nvrtc = NvrtcTestSupport.nvrtc();
  }

  @Test
  void nvrtcSupportsEveryTarget() {
    Set<Integer> supported = new TreeSet<>();
    for (int a : nvrtc.supportedArchs()) {
      supported.add(a);
    }
    for (int t : TARGETS) {
      assertTrue(supported.contains(t), "NVRTC " + nvrtc.version() + " lacks sm_" + t
          + ": " + supported);
    }
  }

  @Test
  void everyKernelCompilesForEveryTargetWithAnEmptyLog() {
    List<String> entries = new ArrayList<>();
    for (KernelSource source : KernelSource.all()) {
      assertFalse(source.entries().isEmpty(), source.name() + " defines no entry point");
      entries.addAll(source.entries());
      for (int arch : TARGETS) {
        Nvrtc.CompiledKernel k;
        try {
          k = nvrtc.compile(source, arch);
        } catch (CudaException e) {
          fail(e.getMessage());
          return;
        }
        assertEquals("", k.log(), source.name() + " sm_" + arch + " compiler log");
        byte[] c = k.cubin();
        assertTrue(c.length > 64 && c[0] == 0x7f && c[1] == 'E' && c[2] == 'L' && c[3] == 'F',
            source.name() + " sm_" + arch + " is not an ELF cubin");
        String image = new String(c, StandardCharsets.ISO_8859_1);
        for (String entry : source.entries()) {
          assertTrue(image.contains(".text." + entry + "\0"),
              entry + " missing from the sm_" + arch + " cubin of " + source.name());
        }
      }
    }
    assertEquals(new TreeSet<>(EXPECTED), new TreeSet<>(entries));
  }

  @Test
  void aCompileErrorCarriesNvrtcsLog() {
    KernelSource bad = KernelSource.of("broken",
        "extern \"C\" __global__ void broken(float* x) { x[0] = undefined_name; }");
    CudaException e = org.junit.jupiter.api.Assertions.assertThrows(CudaException.class,
        () -> nvrtc.compile(bad, 80));
    assertTrue(e.getMessage().contains("broken") && e.getMessage().contains("undefined_name"),
        e.getMessage());
  }
}
