package ai.cory.common.config;

import ai.cory.common.model.BaseDtype;
import ai.cory.common.model.LoraSpec;
import ai.cory.common.model.ModelConfig;
import java.io.Serializable;
import java.util.List;
import java.util.Objects;

/**
 * {@code cory.model}: the pretrained LM both agents and the frozen reference start from.
 *
 * @param path             Hugging Face model directory, local path or Hadoop URI
 * @param precision        weights, activations and optimizer state
 * @param valueHeadSeed    seed of the fresh value heads (agent B uses the next stream)
 * @param forwardBatchSize rows per scoring forward pass over a rollout batch, {@code > 0}
 * @param lora             LoRA adapters ({@code cory.model.lora}); rank 0 = full fine-tuning
 * @param baseDtype        storage of the frozen base's projections; not float32 only with LoRA
 * @param recomputeActivations training keeps only each block's input and recomputes the rest in
 *                         backward (one block's activations in memory instead of all of them)
 * @param compute          where the engine runs ({@code cory.model.device}) and its GPU math
 */
public record ModelSettings(String path, Precision precision, long valueHeadSeed, int forwardBatchSize,
    Lora lora, BaseDtype baseDtype, boolean recomputeActivations, Compute compute)
    implements Serializable {
  private static final long serialVersionUID = 3L;

  /**
   * {@code cory.model.lora}.
   *
   * @param rank    r; 0 turns LoRA off (every weight trains)
   * @param alpha   the scale numerator, {@code alpha / r}
   * @param targets  module names; empty = every projection of the architecture
   * @param initFrom a PEFT adapter directory (path or URI) both agents start from, or null for
   *                 fresh adapters
   * @param exportMerged also export each agent merged into the base ({@code final/<agent>-merged})
   */
  public record Lora(int rank, double alpha, List<String> targets, String initFrom, boolean exportMerged)
      implements Serializable {
    private static final long serialVersionUID = 1L;
    /** LoRA off. */
    public static final Lora OFF = new Lora(0, 16, List.of(), null, false);

    public Lora {
      targets = List.copyOf(Objects.requireNonNull(targets, "targets"));
      if (rank < 0) {
        throw new IllegalArgumentException("LoRA rank must be >= 0, got " + rank);
      }
    }

    /** True when adapters train instead of the whole model. */
    public boolean enabled() {
      return rank > 0;
    }

    /** The adapters for a model of {@code arch}; null when off. */
    public LoraSpec spec(ModelConfig.Arch arch) {
      return enabled() ? LoraSpec.of(rank, alpha, targets, arch) : null;
    }
  }

  /** Full fine-tuning on a float32 base (the settings before LoRA existed). */
  public ModelSettings(String path, Precision precision, long valueHeadSeed, int forwardBatchSize) {
    this(path, precision, valueHeadSeed, forwardBatchSize, Lora.OFF, BaseDtype.FLOAT32, false,
        Compute.CPU);
  }

  public ModelSettings {
    Objects.requireNonNull(path, "path");
    Objects.requireNonNull(precision, "precision");
    Objects.requireNonNull(lora, "lora");
    Objects.requireNonNull(baseDtype, "baseDtype");
    Objects.requireNonNull(compute, "compute");
    if (forwardBatchSize <= 0) {
      throw new IllegalArgumentException("forwardBatchSize must be > 0, got " + forwardBatchSize);
    }
    if (baseDtype != BaseDtype.FLOAT32 && !lora.enabled()) {
      throw new IllegalArgumentException("a " + baseDtype + " base is frozen: it needs LoRA "
          + "(cory.model.lora.rank > 0); full fine-tuning trains the float weights themselves");
    }
  }
}
