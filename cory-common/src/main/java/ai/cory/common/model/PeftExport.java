package ai.cory.common.model;

import ai.cory.common.io.FileSink;
import ai.cory.common.io.FileSource;
import ai.cory.common.io.SafeTensors;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A LoRA agent as a PEFT adapter directory, the layout {@code PeftModel.from_pretrained} reads:
 * <pre>
 *   adapter_config.json        peft_type LORA, r, lora_alpha, target_modules, fan_in_fan_out
 *                              (true for GPT-2's Conv1D), base_model_name_or_path
 *   adapter_model.safetensors  lora_A (r, in) and lora_B (out, r) under PEFT's state_dict names
 *                              ({@code base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight})
 *   value_head.safetensors     TRL's v_head.summary.*, to continue PPO
 * </pre>
 * {@link #read} loads such a directory into an agent's adapter buffer (a run may start from an
 * existing adapter).
 */
public final class PeftExport {
  /** The adapters' weights. */
  public static final String ADAPTER_FILE = "adapter_model.safetensors";
  /** The adapters' configuration. */
  public static final String CONFIG_FILE = "adapter_config.json";
  private static final ObjectMapper JSON = new ObjectMapper();

  private PeftExport() {}

  /**
   * Writes the adapters and value head of {@code adapters} (an adapter layout) into {@code sink}.
   *
   * @param baseModel where the base comes from ({@code base_model_name_or_path})
   * @return the names written, in order
   */
  public static List<String> write(FileSink sink, Parameters adapters, String baseModel) throws IOException {
    LoraSpec spec = adapters.layout().lora();
    if (spec == null) {
      throw new IllegalArgumentException("not an adapter buffer");
    }
    TreeMap<String, INDArray> lora = new TreeMap<>();
    TreeMap<String, INDArray> valueHead = new TreeMap<>();
    for (ParamLayout.Entry e : adapters.layout().entries()) {
      (HfExport.isValueHead(e.name()) ? valueHead : lora).put(e.name(), adapters.get(e.name()));
    }
    try (OutputStream out = sink.create(CONFIG_FILE)) {
      out.write(JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(
          config(spec, adapters.layout().config(), baseModel)));
    }
    HfExport.writeTensors(sink, ADAPTER_FILE, lora);
    HfExport.writeTensors(sink, HfExport.VALUE_HEAD_FILE, valueHead);
    return List.of(CONFIG_FILE, ADAPTER_FILE, HfExport.VALUE_HEAD_FILE);
  }

  /** PEFT's {@code LoraConfig} as JSON. */
  static ObjectNode config(LoraSpec spec, ModelConfig cfg, String baseModel) {
    ObjectNode c = JSON.createObjectNode();
    c.put("peft_type", "LORA");
    c.put("task_type", "CAUSAL_LM");
    c.put("base_model_name_or_path", baseModel);
    c.put("r", spec.rank());
    if (spec.alpha() == Math.rint(spec.alpha())) {
      c.put("lora_alpha", (long) spec.alpha());
    } else {
      c.put("lora_alpha", spec.alpha());
    }
    c.put("lora_dropout", 0.0);
    ArrayNode targets = c.putArray("target_modules");
    spec.targets().forEach(targets::add);
    c.put("bias", "none");
    c.put("fan_in_fan_out", cfg.arch() == ModelConfig.Arch.GPT2);
    c.put("inference_mode", true);
    c.put("init_lora_weights", true);
    c.putNull("modules_to_save");
    return c;
  }

  /**
   * Reads a PEFT adapter directory into {@code dst} (an adapter layout with the same rank,
   * alpha and targets): its adapters, and its value head when it has {@code value_head.safetensors}.
   *
   * @return true if the value head was read
   * @throws IllegalArgumentException when the directory's rank, alpha, targets, tensors or shapes differ
   */
  public static boolean read(FileSource dir, Parameters dst) throws IOException {
    LoraSpec spec = dst.layout().lora();
    JsonNode c;
    try (InputStream in = dir.open(CONFIG_FILE, 0)) {
      c = JSON.readTree(in);
    }
    List<String> targets = new ArrayList<>();
    c.path("target_modules").forEach(t -> targets.add(t.asText()));
    if (!"LORA".equals(c.path("peft_type").asText()) || c.path("r").asInt() != spec.rank()
        || c.path("lora_alpha").asDouble() != spec.alpha()
        || !new HashSet<>(targets).equals(new HashSet<>(spec.targets()))) {
      throw new IllegalArgumentException(dir.describe(CONFIG_FILE) + " holds LoRA r=" + c.path("r").asText()
          + " alpha=" + c.path("lora_alpha").asText() + " targets=" + targets + " but this run has r=" + spec.rank()
          + " alpha=" + spec.alpha() + " targets=" + spec.targets());
    }
    SafeTensors st = SafeTensors.open(dir, ADAPTER_FILE);
    Set<String> expected = new HashSet<>();
    for (ParamLayout.Entry e : dst.layout().entries()) {
      if (!HfExport.isValueHead(e.name())) {
        st.readInto(e.name(), e.shape(), dst.get(e.name()));
        expected.add(e.name());
      }
    }
    List<String> extra = st.names().stream().filter(n -> !expected.contains(n)).toList();
    if (!extra.isEmpty()) {
      throw new IllegalArgumentException(dir.describe(ADAPTER_FILE) + ": tensors " + extra
          + " are not adapters of this " + dst.layout().config().arch() + " model");
    }
    if (!dir.exists(HfExport.VALUE_HEAD_FILE)) {
      return false;
    }
    SafeTensors vh = SafeTensors.open(dir, HfExport.VALUE_HEAD_FILE);
    for (String name : List.of(ParamLayout.VALUE_WEIGHT, ParamLayout.VALUE_BIAS)) {
      vh.readInto(name, dst.layout().entry(name).shape(), dst.get(name));
    }
    return true;
  }
}
