package ai.cory.common.model;

import ai.cory.common.io.FileSource;
import ai.cory.common.io.SafeTensors;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Loads a Hugging Face model directory ({@code config.json} + {@code model.safetensors}, or
 * sharded) straight into the flat parameter buffer: each tensor is read into its named view,
 * in HF storage layout (nothing is transposed). Accepted name variants: GPT-2 with or without the
 * {@code transformer.} prefix, Llama with or without {@code model.}. Ignored: GPT-2's
 * {@code attn.bias} / {@code attn.masked_bias} causal-mask buffers, Llama's
 * {@code rotary_emb.inv_freq}, and a tied model's redundant {@code lm_head.weight}. Any other
 * tensor the model does not have is an error, as is a missing one. The value head is loaded when
 * present, in the weights (TRL's {@code save_pretrained}) or in {@link HfExport#VALUE_HEAD_FILE}
 * beside them (our checkpoints and exports), and freshly initialised from {@code valueHeadSeed}
 * otherwise.
 */
public final class HfCheckpoint {
  private HfCheckpoint() {}

  /** Tensor {@code stored} into entry {@code e} of {@code params}: an ND4J view, or its span. */
  private static void read(SafeTensors st, String stored, ParamLayout.Entry e, Parameters params)
      throws IOException {
    if (HostMemory.nd4j()) {
      st.readInto(stored, e.shape(), params.get(e.name()));
      return;
    }
    Span dst = params.span(e.name());
    st.readInto(stored, e.shape(), new SafeTensors.Sink() {
      @Override
      public boolean doubles() {
        return dst.dataType() == DataType.DOUBLE;
      }

      @Override
      public void floats(long at, float[] chunk, int n) {
        dst.writeFloats(at, chunk, 0, n);
      }

      @Override
      public void doubles(long at, double[] chunk, int n) {
        dst.write(at, chunk, 0, n);
      }
    });
  }

  /** Reads config and weights of {@code dir} into a new model of the given precision. */
  public static CausalLm load(FileSource dir, DataType dataType, long valueHeadSeed)
      throws IOException {
    ModelConfig cfg = HfConfigReader.read(dir);
    SafeTensors st = SafeTensors.open(dir);
    Parameters params = Parameters.zeros(ParamLayout.of(cfg), dataType);
    Set<String> used = new HashSet<>();
    // the value head: inside the weights (TRL's save_pretrained), beside them (HfExport), or none
    SafeTensors valueHeadFile = st.contains(ParamLayout.VALUE_WEIGHT) ? st
        : dir.exists(HfExport.VALUE_HEAD_FILE) ? SafeTensors.open(dir, HfExport.VALUE_HEAD_FILE) : null;
    for (ParamLayout.Entry e : params.layout().entries()) {
      if (HfExport.isValueHead(e.name())) {
        if (valueHeadFile != null) {
          read(valueHeadFile, e.name(), e, params);
        }
        continue;
      }
      String stored = storedName(st, e.name(), cfg);
      read(st, stored, e, params);
      used.add(stored);
    }
    if (valueHeadFile == null) {
      params.initValueHead(valueHeadSeed);
    }
    refuseUnexpected(dir, st, used, cfg);
    return CausalLm.of(params);
  }

  /**
   * Refuses a checkpoint with tensors the model does not have ({@code used} were read; a value
   * head stored with the weights, as TRL saves it, and the ignorable buffers are accepted).
   */
  static void refuseUnexpected(FileSource dir, SafeTensors st, Set<String> used, ModelConfig cfg) {
    List<String> unexpected = new ArrayList<>();
    for (String name : st.names()) {
      if (!used.contains(name) && !ignorable(name, cfg) && !HfExport.isValueHead(name)) {
        unexpected.add(name);
      }
    }
    if (!unexpected.isEmpty()) {
      throw new IllegalArgumentException(dir.describe(st.files().get(0)) + ": tensors "
          + unexpected + " do not belong to a " + cfg.arch() + " model with this config.json"
          + " (tie_word_embeddings=" + cfg.tiedEmbeddings() + ", layers=" + cfg.layers() + ")");
    }
  }

  /** The checkpoint's name for our tensor {@code name}, trying the prefix variants. */
  static String storedName(SafeTensors st, String name, ModelConfig cfg) {
    for (String candidate : variants(name)) {
      if (st.contains(candidate)) {
        return candidate;
      }
    }
    if (name.equals("lm_head.weight")) {
      throw new IllegalArgumentException("config.json has tie_word_embeddings=false but the "
          + "checkpoint has no lm_head.weight (files " + st.files() + ")");
    }
    // SafeTensors names the files and the closest names present.
    st.info(name);
    throw new IllegalStateException("unreachable: " + name + " reported present");
  }

  private static List<String> variants(String name) {
    List<String> v = new ArrayList<>(List.of(name, "transformer." + name));
    if (name.startsWith("model.")) {
      v.add(name.substring("model.".length()));
    }
    return v;
  }

  private static boolean ignorable(String name, ModelConfig cfg) {
    return name.endsWith(".attn.bias") && cfg.arch() == ModelConfig.Arch.GPT2
        || name.endsWith(".attn.masked_bias")
        || name.endsWith("rotary_emb.inv_freq")
        || name.equals("lm_head.weight") && cfg.tiedEmbeddings();
  }
}
