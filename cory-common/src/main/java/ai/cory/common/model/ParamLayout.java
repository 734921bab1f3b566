package ai.cory.common.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Names, shapes and offsets of every trainable tensor of a causal LM plus its value head, packed
 * in one flat buffer in Hugging Face {@code named_parameters()} order (GPT-2 names as in
 * {@code GPT2Model}, without the {@code transformer.} prefix; Llama names with {@code model.}),
 * in HF storage layout (Conv1D (in, out), nn.Linear (out, in)). The value head (TRL
 * {@code ValueHead}: {@code v_head.summary.weight} (1, C), {@code v_head.summary.bias} (1))
 * comes last. The optimizer, allreduce and checkpoints walk buffers with this layout.
 *
 * <p>Adjacent tensors that are used as one matrix stay adjacent: Llama's q|k|v and gate|up
 * projections (fused GEMMs over contiguous memory).
 */
public final class ParamLayout {
  /** Name of the value-head weight (1, C). */
  public static final String VALUE_WEIGHT = "v_head.summary.weight";
  /** Name of the value-head bias (1). */
  public static final String VALUE_BIAS = "v_head.summary.bias";

  /**
   * One tensor.
   *
   * @param name   HF name
   * @param shape  HF storage shape
   * @param offset first element inside the flat buffer
   */
  public record Entry(String name, long[] shape, long offset) {
    /** Number of elements. */
    public long length() {
      long n = 1;
      for (long s : shape) {
        n *= s;
      }
      return n;
    }

    @Override
    public String toString() {
      return name + Arrays.toString(shape) + "@" + offset;
    }
  }

  /** The four projection slots of a block, in forward order (Llama's q|k|v and gate|up fused). */
  public enum Slot { QKV, PROJ, FC, FC2 }

  /**
   * One adapted projection: where its adapter sits and its shapes.
   *
   * @param layer     block index
   * @param slot      the fused projection it adds to
   * @param module    the module name PEFT matches ({@code q_proj}, {@code c_attn}, ...)
   * @param path      the module's path in PEFT's {@code state_dict} ({@code base_model.model.} ...)
   * @param in        input features (A is (r, in))
   * @param out       output features (B is (out, r))
   * @param colOffset first output column of this module inside its slot's fused output
   */
  public record AdapterSite(int layer, Slot slot, String module, String path, int in, int out,
      int colOffset) {
    /** PEFT's name of A. */
    public String aName() {
      return path + ".lora_A.weight";
    }

    /** PEFT's name of B. */
    public String bName() {
      return path + ".lora_B.weight";
    }
  }

  private final ModelConfig config;
  private final LoraSpec lora;
  private final List<Entry> entries;
  private final Map<String, Entry> byName;
  private final long size;

  private ParamLayout(ModelConfig config, LoraSpec lora, List<Entry> entries) {
    this.config = config;
    this.lora = lora;
    this.entries = Collections.unmodifiableList(entries);
    this.byName = new LinkedHashMap<>();
    long end = 0;
    for (Entry e : entries) {
      byName.put(e.name(), e);
      end = e.offset() + e.length();
    }
    this.size = end;
  }

  /** The layout of a model with this configuration. */
  public static ParamLayout of(ModelConfig cfg) {
    Builder b = new Builder();
    int c = cfg.hidden();
    int v = cfg.vocabSize();
    int inter = cfg.intermediate();
    if (cfg.arch() == ModelConfig.Arch.GPT2) {
      b.add("wte.weight", v, c);
      b.add("wpe.weight", cfg.maxPositions(), c);
      for (int l = 0; l < cfg.layers(); l++) {
        String p = "h." + l + ".";
        b.add(p + "ln_1.weight", c);
        b.add(p + "ln_1.bias", c);
        b.add(p + "attn.c_attn.weight", c, 3L * c);
        b.add(p + "attn.c_attn.bias", 3L * c);
        b.add(p + "attn.c_proj.weight", c, c);
        b.add(p + "attn.c_proj.bias", c);
        b.add(p + "ln_2.weight", c);
        b.add(p + "ln_2.bias", c);
        b.add(p + "mlp.c_fc.weight", c, inter);
        b.add(p + "mlp.c_fc.bias", inter);
        b.add(p + "mlp.c_proj.weight", inter, c);
        b.add(p + "mlp.c_proj.bias", c);
      }
      b.add("ln_f.weight", c);
      b.add("ln_f.bias", c);
      if (!cfg.tiedEmbeddings()) {
        b.add("lm_head.weight", v, c);
      }
    } else {
      long q = (long) cfg.heads() * cfg.headDim();
      long kv = (long) cfg.kvHeads() * cfg.headDim();
      b.add("model.embed_tokens.weight", v, c);
      for (int l = 0; l < cfg.layers(); l++) {
        String p = "model.layers." + l + ".";
        b.add(p + "self_attn.q_proj.weight", q, c);
        b.add(p + "self_attn.k_proj.weight", kv, c);
        b.add(p + "self_attn.v_proj.weight", kv, c);
        b.add(p + "self_attn.o_proj.weight", c, q);
        b.add(p + "mlp.gate_proj.weight", inter, c);
        b.add(p + "mlp.up_proj.weight", inter, c);
        b.add(p + "mlp.down_proj.weight", c, inter);
        b.add(p + "input_layernorm.weight", c);
        b.add(p + "post_attention_layernorm.weight", c);
      }
      b.add("model.norm.weight", c);
      if (!cfg.tiedEmbeddings()) {
        b.add("lm_head.weight", v, c);
      }
    }
    b.add(VALUE_WEIGHT, 1, c);
    b.add(VALUE_BIAS, 1);
    return new ParamLayout(cfg, null, b.entries);
  }

  /**
   * The trainable tensors of a LoRA agent: every adapter's A (r, in) and B (out, r) under PEFT's
   * {@code state_dict} names, block by block in module order, then the value head.
   */
  public static ParamLayout adapters(ModelConfig cfg, LoraSpec spec) {
    Builder b = new Builder();
    for (AdapterSite site : adapterSites(cfg, spec)) {
      b.add(site.aName(), spec.rank(), site.in());
      b.add(site.bName(), site.out(), spec.rank());
    }
    b.add(VALUE_WEIGHT, 1, cfg.hidden());
    b.add(VALUE_BIAS, 1);
    return new ParamLayout(cfg, spec, b.entries);
  }

  /** The adapted projections of a model of {@code cfg} under {@code spec}, in layout order. */
  public static List<AdapterSite> adapterSites(ModelConfig cfg, LoraSpec spec) {
    List<AdapterSite> sites = new ArrayList<>();
    int c = cfg.hidden();
    int inter = cfg.intermediate();
    for (int l = 0; l < cfg.layers(); l++) {
      List<AdapterSite> all = new ArrayList<>();
      if (cfg.arch() == ModelConfig.Arch.GPT2) {
        String p = "base_model.model.transformer.h." + l + ".";
        all.add(new AdapterSite(l, Slot.QKV, "c_attn", p + "attn.c_attn", c, 3 * c, 0));
        all.add(new AdapterSite(l, Slot.PROJ, "c_proj", p + "attn.c_proj", c, c, 0));
        all.add(new AdapterSite(l, Slot.FC, "c_fc", p + "mlp.c_fc", c, inter, 0));
        all.add(new AdapterSite(l, Slot.FC2, "c_proj", p + "mlp.c_proj", inter, c, 0));
      } else {
        String p = "base_model.model.model.layers." + l + ".";
        int q = cfg.heads() * cfg.headDim();
        int kv = cfg.kvHeads() * cfg.headDim();
        all.add(new AdapterSite(l, Slot.QKV, "q_proj", p + "self_attn.q_proj", c, q, 0));
        all.add(new AdapterSite(l, Slot.QKV, "k_proj", p + "self_attn.k_proj", c, kv, q));
        all.add(new AdapterSite(l, Slot.QKV, "v_proj", p + "self_attn.v_proj", c, kv, q + kv));
        all.add(new AdapterSite(l, Slot.PROJ, "o_proj", p + "self_attn.o_proj", q, c, 0));
        all.add(new AdapterSite(l, Slot.FC, "gate_proj", p + "mlp.gate_proj", c, inter, 0));
        all.add(new AdapterSite(l, Slot.FC, "up_proj", p + "mlp.up_proj", c, inter, inter));
        all.add(new AdapterSite(l, Slot.FC2, "down_proj", p + "mlp.down_proj", inter, c, 0));
      }
      for (AdapterSite s : all) {
        if (spec.targets(s.module())) {
          sites.add(s);
        }
      }
    }
    return sites;
  }

  /** This layout without the tensors {@code names} (the others re-packed in the same order). */
  public ParamLayout without(Set<String> names) {
    Builder b = new Builder();
    for (Entry e : entries) {
      if (!names.contains(e.name())) {
        b.add(e.name(), e.shape());
      }
    }
    return new ParamLayout(config, lora, b.entries);
  }

  /**
   * The Hugging Face tensors that make up each projection slot's matrix, in row order of the
   * (out, in) matrix: Llama's q, k, v (and gate, up) stacked; GPT-2's one Conv1D each.
   */
  public static List<String> slotTensors(ModelConfig cfg, int layer, Slot slot) {
    if (cfg.arch() == ModelConfig.Arch.GPT2) {
      String p = "h." + layer + ".";
      return List.of(switch (slot) {
        case QKV -> p + "attn.c_attn.weight";
        case PROJ -> p + "attn.c_proj.weight";
        case FC -> p + "mlp.c_fc.weight";
        case FC2 -> p + "mlp.c_proj.weight";
      });
    }
    String p = "model.layers." + layer + ".";
    return switch (slot) {
      case QKV -> List.of(p + "self_attn.q_proj.weight", p + "self_attn.k_proj.weight",
          p + "self_attn.v_proj.weight");
      case PROJ -> List.of(p + "self_attn.o_proj.weight");
      case FC -> List.of(p + "mlp.gate_proj.weight", p + "mlp.up_proj.weight");
      case FC2 -> List.of(p + "mlp.down_proj.weight");
    };
  }

  /** The LoRA spec of an adapter layout ({@link #adapters}), null for a whole model's layout. */
  public LoraSpec lora() {
    return lora;
  }

  /** True for an adapter layout. */
  public boolean isAdapters() {
    return lora != null;
  }

  /** The configuration this layout was built for. */
  public ModelConfig config() {
    return config;
  }

  /** All tensors in buffer order. */
  public List<Entry> entries() {
    return entries;
  }

  /** Tensor names in buffer order (HF {@code named_parameters()} order, value head last). */
  public List<String> names() {
    List<String> names = new ArrayList<>(entries.size());
    for (Entry e : entries) {
      names.add(e.name());
    }
    return names;
  }

  /** True if the layout has a tensor of this name. */
  public boolean contains(String name) {
    return byName.containsKey(name);
  }

  /** The tensor of this name. */
  public Entry entry(String name) {
    Entry e = byName.get(name);
    if (e == null) {
      throw new IllegalArgumentException("no parameter named '" + name + "' in this "
          + config.arch() + " model; names are like " + entries.get(0).name());
    }
    return e;
  }

  /** Total elements of the flat buffer. */
  public long size() {
    return size;
  }

  /** Elements of the language model alone (everything except the value head): adapters only for an adapter layout. */
  public long languageModelSize() {
    return entry(VALUE_WEIGHT).offset();
  }

  private static final class Builder {
    private final List<Entry> entries = new ArrayList<>();
    private long offset;

    void add(String name, long... shape) {
      Entry e = new Entry(name, shape, offset);
      entries.add(e);
      offset += e.length();
    }
  }
}
