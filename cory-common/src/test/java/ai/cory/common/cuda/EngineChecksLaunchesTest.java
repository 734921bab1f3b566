package ai.cory.common.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.config.Compute;
import ai.cory.common.model.BaseDtype;
import ai.cory.common.model.CausalLm;
import ai.cory.common.model.ModelPass;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The engine's forward and backward on the device backend without a GPU: every launch, GEMM and
 * copy of a GPT-2 full fine-tuning pass and a Llama LoRA pass, heads included, goes through {@link
 * ValidatingDevice}, which checks it against the kernel's CUDA declaration, launch limits and
 * the live allocations (exact extents, so a LoRA slot's strided columns must stay inside their
 * fused buffer). The numbers are left for a GPU ({@code GpuCheck}).
 */
class EngineChecksLaunchesTest {
  @Test
  void theModelOnTheDeviceLaunchesValidly() {
    ValidatingDevice device = new ValidatingDevice();
    List<CheckResult> results = new EngineChecks(device).run();
    // per model: scores, gradients, greedy; the Llama LoRA agent's scores and gradients again
    // in TF32 and in bf16 math
    assertEquals(13, results.size());
    assertTrue(device.launched.contains("dequant_nf4"), device.launched.toString());
    assertTrue(device.launched.containsAll(Set.of("embedding_forward", "embedding_backward",
        "layernorm_forward", "layernorm_backward", "layernorm_dwdb", "rmsnorm_forward",
        "rmsnorm_backward", "add_bias", "column_sum", "rope_apply", "attention_forward",
        "attention_backward_query", "attention_backward_key", "gelu_forward", "gelu_backward",
        "swiglu_forward", "swiglu_backward", "vocab_forward", "vocab_backward",
        "kv_cache_write", "attention_cached")),
        device.launched.toString());
    // LoRA: the Llama pass's adapters take 2 GEMMs forward, 5 backward per adapter; GPT-2's
    // and Llama's base projections 1 forward and 2 or 3 backward each
    assertTrue(device.gemms > 100, device.gemms + " GEMMs");
    for (CheckResult r : results) {
      boolean tokens = r.check().endsWith("greedy KV-cache"); // token for token: tolerance 0
      double tol = r.check().contains(" bf16 ") ? EngineChecks.TOL_BF16
          : r.check().contains(" tf32 ") ? EngineChecks.TOL_TF32 : EngineChecks.TOL;
      assertTrue(r.tolerance() == (tokens ? 0 : tol), r.json());
    }
    assertNull(GpuCheck.engineUnavailable()); // ND4J is here; the bundle says why it is not there
  }

  @Test
  void theModelOnAnEmulatedDeviceMeetsTheCpuEngine() {
    // the same comparisons with every launch carried out in Java: the device path's wiring
    // (buffers, offsets, strides, index arrays, packed tiles, the KV cache) proven numerically
    // (tensor-core math included: the emulated GEMM rounds each operand as TF32 or bf16 does)
    List<CheckResult> results = new EngineChecks(new EmulatedDevice()).run();
    assertEquals(13, results.size());
    for (CheckResult r : results) {
      System.out.println(r.json());
      assertTrue(r.ok(), r.json());
    }
  }

  @Test
  void theEngineBenchLaunchesValidlyAndPrintsOneLinePerMathAndMode() {
    ValidatingDevice device = new ValidatingDevice();
    // generate: more rows than train (3 > 2) and 4 decode steps over a packed base (gemv_packed)
    EngineBench.Case tiny = new EngineBench.Case("tiny-llama", EngineChecks.llama(),
        BaseDtype.NF4, 4, 2, 16, 3, 6, 4);
    List<String> lines = new EngineBench(device, List.of(tiny)).run();
    // fp32, tf32 and bf16 x score, train, generate
    assertEquals(9, lines.size(), lines.toString());
    assertTrue(lines.get(1).startsWith("{\"bench\":\"engine\",\"model\":\"tiny-llama\","
        + "\"layers\":2,\"base_dtype\":\"nf4\",\"lora_rank\":4,\"math\":\"fp32\","
        + "\"mode\":\"train\",\"batch\":2,\"seq\":16,"), lines.get(1));
    assertTrue(lines.get(2).contains("\"mode\":\"generate\",\"batch\":3,\"seq\":10,"),
        lines.get(2));
    assertTrue(device.launched.contains("gemv_packed"), device.launched.toString());
    assertEquals(3, EngineBench.CASES.size());
  }

  @Test
  void aDeviceRunRefusesAFloat64Model() {
    ValidatingDevice device = new ValidatingDevice();
    try (DeviceArena arena = device.arena(64L << 20)) {
      CudaAccelerator acc = new CudaAccelerator(device, arena, Compute.GemmMath.FP32);
      CausalLm f64 = CausalLm.random(EngineChecks.gpt2(), DataType.DOUBLE, 1);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> ModelPass.on(acc, f64, 1, 8, false));
      assertTrue(e.getMessage().contains("float32"), e.getMessage());
    }
  }

  @Test
  void aFullArenaIsNamed() {
    ValidatingDevice device = new ValidatingDevice();
    try (DeviceArena arena = device.arena(1L << 16)) {
      CudaAccelerator acc = new CudaAccelerator(device, arena, Compute.GemmMath.FP32);
      CausalLm lm = CausalLm.random(EngineChecks.gpt2(), DataType.FLOAT, 1);
      CudaException e = assertThrows(CudaException.class, () -> ModelPass.on(acc, lm, 2, 24, true));
      assertTrue(e.getMessage().startsWith("device arena of "), e.getMessage());
    }
  }
}
