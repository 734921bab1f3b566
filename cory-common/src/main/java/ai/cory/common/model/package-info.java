/**
 * The causal-LM engine: GPT-2 and Llama written by hand on ND4J memory, llm.c style.
 *
 * <h2>Public API</h2>
 * <ul>
 *   <li>{@link ai.cory.common.model.CausalLm}: a model (weights, lazily allocated gradients),
 *       {@code forward} / {@code backward} over a {@link ai.cory.common.model.Workspace}, and
 *       KV-cache generation ({@code newKvCache}, {@code prefill}, {@code decode}).</li>
 *   <li>{@link ai.cory.common.model.Parameters} / {@link ai.cory.common.model.ParamLayout}: one
 *       flat buffer per model, Hugging Face names and shapes in {@code named_parameters()}
 *       order, value head last; gradients share the layout.</li>
 *   <li>{@link ai.cory.common.model.TokenBatch} (tokens, padding mask, derived positions),
 *       {@link ai.cory.common.model.ForwardOptions} (which columns and outputs),
 *       {@link ai.cory.common.model.ForwardResult} (views into the workspace).</li>
 *   <li>{@link ai.cory.common.model.HfCheckpoint}: loading a Hugging Face directory.</li>
 * </ul>
 *
 * <h2>Design</h2>
 * Each layer is a class with a static {@code forward} and {@code backward} side by side
 * (argument order: outputs, caches, inputs, weights, sizes); forward caches what backward reads;
 * a {@code Workspace} holds every activation, allocated once. Tensors are
 * {@link ai.cory.common.model.Span}s (a contiguous run of one ND4J allocation, shape in a
 * comment). Matrix products call OpenBLAS's CBLAS directly on span pointers with explicit
 * leading dimensions (strided heads without copies); element-wise kernels move rows into heap
 * {@code double[]} scratch and compute in double, split over rows by
 * {@link ai.cory.common.model.Parallel}, with the exp/tanh-heavy loops on the Vector API when
 * the JVM runs with {@code --add-modules jdk.incubator.vector}. FLOAT is the production
 * precision; DOUBLE runs the same code for finite-difference checks.
 *
 * <p>Correctness: per-layer and whole-model finite-difference checks in double, and the float64
 * PyTorch goldens of {@code shared/golden} (forward, gradients, padded batches, TRL's PPO step).
 */
package ai.cory.common.model;
