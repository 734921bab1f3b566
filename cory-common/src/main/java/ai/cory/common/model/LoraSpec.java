package ai.cory.common.model;

import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Low-rank adapters (Hu et al. 2021) with PEFT's semantics: a target projection {@code y = W x}
 * becomes {@code y = W x + (alpha / r) B (A x)} with {@code A} (r, in) initialised as PEFT does
 * ({@code kaiming_uniform_(a = sqrt(5))}, i.e. U(-1/sqrt(in), 1/sqrt(in))) and {@code B} (out, r)
 * zero, no dropout. Targets are module names as PEFT's {@code target_modules} matches them: the
 * last component of the module path ({@code q_proj}, {@code c_attn}, ...). GPT-2's {@code c_proj}
 * names both the attention output and the MLP output projection, as in PEFT.
 *
 * @param rank    r, at least 1
 * @param alpha   the scale numerator ({@code lora_alpha})
 * @param targets the module names adapted, in the model's module order
 */
public record LoraSpec(int rank, double alpha, List<String> targets) {
  /** Llama's projections, in module order. */
  public static final List<String> LLAMA_MODULES =
      List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj");
  /** GPT-2's projections, in module order. */
  public static final List<String> GPT2_MODULES = List.of("c_attn", "c_proj", "c_fc");

  public LoraSpec {
    Objects.requireNonNull(targets, "targets");
    if (rank < 1) {
      throw new IllegalArgumentException("LoRA rank must be >= 1, got " + rank);
    }
    if (!(alpha > 0) || !Double.isFinite(alpha)) {
      throw new IllegalArgumentException("LoRA alpha must be finite and > 0, got " + alpha);
    }
    if (targets.isEmpty()) {
      throw new IllegalArgumentException("LoRA needs at least one target module");
    }
    targets = List.copyOf(targets);
  }

  /** The adapters' output scale {@code alpha / r}. */
  public double scale() {
    return alpha / rank;
  }

  /** Every projection of the architecture: PEFT's usual "all linear layers" choice. */
  public static List<String> defaultTargets(ModelConfig.Arch arch) {
    return arch == ModelConfig.Arch.GPT2 ? GPT2_MODULES : LLAMA_MODULES;
  }

  /**
   * This spec for a model of {@code arch}, an empty target list meaning {@link #defaultTargets}.
   *
   * @throws IllegalArgumentException naming a target the architecture does not have
   */
  public LoraSpec forArch(ModelConfig.Arch arch) {
    List<String> known = defaultTargets(arch);
    for (String t : targets) {
      if (!known.contains(t)) {
        throw new IllegalArgumentException("LoRA target '" + t + "' is not a projection of a "
            + arch.name().toLowerCase(Locale.ROOT) + " model; it has " + known);
      }
    }
    return this;
  }

  /** With the architecture's {@link #defaultTargets} when {@code targets} is empty. */
  public static LoraSpec of(int rank, double alpha, List<String> targets, ModelConfig.Arch arch) {
    return new LoraSpec(rank, alpha, targets.isEmpty() ? defaultTargets(arch) : targets).forArch(arch);
  }

  /** True if the module named {@code module} (last path component) is adapted. */
  public boolean targets(String module) {
    return targets.contains(module);
  }
}
