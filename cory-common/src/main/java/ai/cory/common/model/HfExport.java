package ai.cory.common.model;

import ai.cory.common.io.FileSink;
import ai.cory.common.io.FileSource;
import ai.cory.common.io.SafeTensorsWriter;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Writes one agent as a Hugging Face model directory: the only writer of that layout, used for
 * the agents inside every checkpoint and for the exported {@code final/<agent>/} directories, so
 * both are the same files.
 * <pre>
 *   config.json               {@link HfConfigWriter}: the trained model's shape and dtype
 *   model.safetensors         the language model, Hugging Face names, no value head: it loads in
 *                             transformers' AutoModelForCausalLM without unexpected keys
 *   value_head.safetensors    TRL's value head, v_head.summary.weight (1, C) and
 *                             v_head.summary.bias (1), to continue PPO from the agent
 *   tokenizer.json ...        {@link #COMPANIONS} copied from the source model, when present
 * </pre>
 * Tensors are stored in the parameters' own type (float32 runs F32, float64 runs F64), so a
 * checkpoint restores bit-identically. {@link HfCheckpoint#load} reads the directory back with
 * its value head.
 */
public final class HfExport {
  /** The language model's weights. */
  public static final String MODEL_FILE = "model.safetensors";
  /** The value head's weights. */
  public static final String VALUE_HEAD_FILE = "value_head.safetensors";
  /** The model's shape. */
  public static final String CONFIG_FILE = HfConfigReader.CONFIG_FILE;
  /**
   * Files of the source model directory copied next to the weights when present, so an exported
   * agent loads in other tools with its tokenizer.
   */
  public static final List<String> COMPANIONS = List.of("tokenizer.json", "tokenizer_config.json",
      "special_tokens_map.json", "generation_config.json", "vocab.json", "merges.txt", "tokenizer.model");
  private static final int COPY_BYTES = 1 << 20;

  private HfExport() {}

  /**
   * Writes {@code weights} (language model and value head) and the companions of
   * {@code sourceModel} into {@code sink}.
   *
   * @param sourceModel the model directory the run started from, or null (the demo model has no
   *                    files)
   * @return the names written, in order
   */
  public static List<String> write(FileSink sink, Parameters weights, FileSource sourceModel) throws IOException {
    if (weights.layout().isAdapters()) { // a LoRA agent: PEFT's adapter directory
      List<String> written = new ArrayList<>(PeftExport.write(sink, weights,
          sourceModel == null ? DemoModel.NAME : sourceModel.describe("")));
      written.addAll(copyCompanions(sink, sourceModel));
      return written;
    }
    TreeMap<String, INDArray> model = new TreeMap<>();
    TreeMap<String, INDArray> valueHead = new TreeMap<>();
    for (ParamLayout.Entry e : weights.layout().entries()) {
      (isValueHead(e.name()) ? valueHead : model).put(e.name(), weights.get(e.name()));
    }
    List<String> written = new ArrayList<>();
    try (OutputStream out = sink.create(CONFIG_FILE)) {
      out.write(HfConfigWriter.toJson(weights.layout().config(), weights.dataType()));
    }
    written.add(CONFIG_FILE);
    writeTensors(sink, MODEL_FILE, model);
    written.add(MODEL_FILE);
    writeTensors(sink, VALUE_HEAD_FILE, valueHead);
    written.add(VALUE_HEAD_FILE);
    written.addAll(copyCompanions(sink, sourceModel));
    return written;
  }

  private static List<String> copyCompanions(FileSink sink, FileSource sourceModel) throws IOException {
    List<String> written = new ArrayList<>();
    for (String name : sourceModel == null ? List.<String>of() : COMPANIONS) {
      if (sourceModel.exists(name)) {
        try (InputStream in = sourceModel.open(name, 0); OutputStream out = sink.create(name)) {
          in.transferTo(out);
        }
        written.add(name);
      }
    }
    return written;
  }

  /** True for the value head's tensors. */
  public static boolean isValueHead(String tensorName) {
    return tensorName.startsWith("v_head.");
  }

  /** One safetensors file of {@code tensors}, in their own types (lossless). */
  static void writeTensors(FileSink sink, String name, Map<String, INDArray> tensors) throws IOException {
    try (OutputStream out = new BufferedOutputStream(sink.create(name), COPY_BYTES)) {
      SafeTensorsWriter.writeLossless(out, tensors);
    }
  }
}
