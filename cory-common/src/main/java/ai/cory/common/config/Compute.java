package ai.cory.common.config;

import java.io.Serializable;
import java.util.Objects;

/**
 * {@code cory.model.device} and {@code cory.model.cuda}: where the engine runs and, on a GPU,
 * the GEMMs' math.
 *
 * @param device  cpu, cuda or auto (cuda where a usable GPU is, else cpu)
 * @param gemm    the cuBLAS math of the projections on a GPU
 */
public record Compute(Device device, GemmMath gemm) implements Serializable {
  private static final long serialVersionUID = 1L;
  /** The CPU engine, float32 GEMMs (the defaults). */
  public static final Compute CPU = new Compute(Device.CPU, GemmMath.FP32);

  public Compute {
    Objects.requireNonNull(device, "device");
    Objects.requireNonNull(gemm, "gemm");
  }

  /** {@code cory.model.device}. */
  public enum Device {
    /** OpenBLAS and the Vector API on the host: the default and the numerical oracle. */
    CPU,
    /** The CUDA backend on the executor's GPU; refuses to start without a usable one. */
    CUDA,
    /** CUDA where the executor has a usable GPU, else CPU. */
    AUTO
  }

  /** {@code cory.model.cuda.gemm}: cuBLAS math, accumulation always in float32. */
  public enum GemmMath {
    /** float32 inputs, float32 math (the CPU's numbers up to summation order). */
    FP32,
    /** float32 inputs on TF32 tensor cores (10-bit mantissa products). */
    TF32,
    /**
     * float32 inputs rounded to bf16 on tensor cores (8-bit mantissa products; a bf16 base's
     * weights pass unchanged).
     */
    BF16
  }
}
