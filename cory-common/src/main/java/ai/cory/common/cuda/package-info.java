/**
 * The engine's CUDA backend: bindings to the CUDA driver API, NVRTC and cuBLAS through JNA
 * (nothing links at class load, so a machine without a driver loads these classes and is told
 * clearly what is missing), the kernel sources shipped in the jar and compiled by NVRTC for the
 * device's compute capability, device detection, the choice of GPU, and the GPU check. See
 * {@code docs/engine.md}, "Backends".
 */
package ai.cory.common.cuda;
