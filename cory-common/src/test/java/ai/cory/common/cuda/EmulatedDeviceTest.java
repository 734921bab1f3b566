package ai.cory.common.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.config.Compute;
import ai.cory.common.io.HalfFloats;
import java.util.SplittableRandom;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The emulated device's kernel transcriptions against the GPU check's float64 references (the
 * same comparisons a GPU must pass): every layer kernel and Adam, attention (forward, both
 * backward kernels, the cached chunk and decode step), the fused vocabulary pass and the token
 * choice (greedy and sampled, with every processor). So what
 * the engine and golden comparisons prove on the emulated device rests on transcriptions that
 * meet each kernel's contract, not on a second copy of the engine's own arithmetic.
 */
class EmulatedDeviceTest {
  @Test
  void theTranscriptionsMeetTheKernelReferences() {
    EmulatedDevice device = new EmulatedDevice();
    List<CheckResult> results = new ArrayList<>();
    try (DeviceArena arena = device.arena(256L << 20)) {
      DeviceScratch d = new DeviceScratch(device, arena, 20261203L);
      LayerChecks layers = new LayerChecks(d);
      results.addAll(List.of(layers.gelu(), layers.geluBackward(), layers.swiglu(),
          layers.swigluBackward(), layers.rmsnorm(), layers.rmsnormBackward(), layers.layernorm(),
          layers.layernormBackward(), layers.rope(), layers.embedding(),
          layers.embeddingBackward(), layers.axpyAndScale(), layers.biasAndColumnSum(),
          layers.adam()));
      results.addAll(new AttentionChecks(d).run());
      results.addAll(new SamplingChecks(d).run());
      GemmChecks gemm = new GemmChecks(d);
      results.addAll(List.of(gemm.dequantInt8(), gemm.dequantNf4(false), gemm.dequantNf4(true),
          gemm.gemvPacked(gemm.halfMatrix(false, 37, 301), 5),
          gemm.gemvPacked(gemm.halfMatrix(true, 37, 301), 16),
          gemm.gemvPacked(gemm.int8Matrix(41, 333), 1),
          gemm.gemvPacked(gemm.nf4Matrix(false, 45, 200), 7),
          gemm.gemvPacked(gemm.nf4Matrix(true, 45, 200), 4)));
    }
    for (CheckResult r : results) {
      System.out.println(r.json());
      assertTrue(r.ok(), r.json());
    }
  }

  @Test
  void tensorCoreRoundingIsBf16sAndTheMathsReachCublasAsItsComputeTypes() {
    // the emulated GEMM's bf16 operand rounding is the cast kernels' (round to nearest even)
    SplittableRandom r = new SplittableRandom(7);
    for (int i = 0; i < 100_000; i++) {
      float x = Float.intBitsToFloat(r.nextInt());
      if (Float.isFinite(x)) {
        assertEquals(HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(x)),
            EmulatedDevice.roundMantissa(x, 7), 0f, Float.toHexString(x));
      }
    }
    assertEquals(1f + 0x1p-10f, EmulatedDevice.roundMantissa(1f + 0x1.8p-11f, 10), 0f); // up
    assertEquals(1f, EmulatedDevice.roundMantissa(1f + 0x1p-11f, 10), 0f); // tie to even
    // cublasComputeType_t as cublas_api.h numbers it
    assertEquals(68, Cublas.computeType(Compute.GemmMath.FP32)); // CUBLAS_COMPUTE_32F
    assertEquals(77, Cublas.computeType(Compute.GemmMath.TF32)); // _32F_FAST_TF32
    assertEquals(75, Cublas.computeType(Compute.GemmMath.BF16)); // _32F_FAST_16BF
  }
}
