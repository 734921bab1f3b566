package ai.cory.common.model;

/**
 * Typed views of one model's tensors (weights or gradients) in the shapes the kernels use.
 * Llama's adjacent q|k|v and gate|up projections are single matrices, so each is one GEMM.
 * Projection matrices are {@link Matrix}: dense spans of a {@link Parameters} buffer (in Hugging
 * Face storage order, {@code outIn} telling (out, in) from (in, out)), or packed quantised
 * matrices of a frozen base ({@link FrozenBase}). Entries that do not exist, or that a frozen
 * model has no gradient for, are null.
 */
final class Weights {
  /** One transformer block. Null entries do not exist in that architecture (or are frozen). */
  record Layer(
      Span norm1W, Span norm1B,   // (C)
      Matrix qkvW, Span qkvB,     // (C, 3C) Conv1D | ((H+2KV)D, C) Linear; bias (3C)
      Matrix projW, Span projB,   // (C, C) | (C, HD)
      Span norm2W, Span norm2B,   // (C)
      Matrix fcW, Span fcB,       // (C, 4C) | (2I, C): gate | up
      Matrix fc2W, Span fc2B) {   // (4C, C) | (C, I)
    /** The matrix of {@code slot}. */
    Matrix matrix(ParamLayout.Slot slot) {
      return switch (slot) {
        case QKV -> qkvW;
        case PROJ -> projW;
        case FC -> fcW;
        case FC2 -> fc2W;
      };
    }
  }

  final boolean outIn;
  final Span tokEmb;   // (V, C)
  final Span posEmb;   // (P, C) GPT-2 only
  final Span normFW;   // (C)
  final Span normFB;   // (C) GPT-2 only
  final Span head;     // (V, C): the embedding when tied
  final Span valueW;   // (1, C)
  final Span valueB;   // (1)
  final Layer[] layers;

  private Weights(boolean outIn, Span tokEmb, Span posEmb, Span normFW, Span normFB, Span head,
      Span valueW, Span valueB, Layer[] layers) {
    this.outIn = outIn;
    this.tokEmb = tokEmb;
    this.posEmb = posEmb;
    this.normFW = normFW;
    this.normFB = normFB;
    this.head = head;
    this.valueW = valueW;
    this.valueB = valueB;
    this.layers = layers;
  }

  /** Every tensor of a whole model's buffer (weights or their gradients), projections dense. */
  Weights(Parameters p) {
    this(p, null);
  }

  /**
   * The tensors of {@code p}, with the projection matrices taken from {@code packed} ([layer]
   * [slot]) when given: {@code p}'s layout then holds everything but those matrices.
   */
  Weights(Parameters p, Matrix[][] packed) {
    ModelConfig cfg = p.layout().config();
    layers = new Layer[cfg.layers()];
    boolean gpt2 = cfg.arch() == ModelConfig.Arch.GPT2;
    outIn = !gpt2;
    if (gpt2) {
      tokEmb = p.span("wte.weight");
      posEmb = p.span("wpe.weight");
      normFW = p.span("ln_f.weight");
      normFB = p.span("ln_f.bias");
      for (int l = 0; l < layers.length; l++) {
        String x = "h." + l + ".";
        Matrix[] m = packed != null ? packed[l] : new Matrix[] {
            dense(p, x + "attn.c_attn.weight", x + "attn.c_attn.weight", false),
            dense(p, x + "attn.c_proj.weight", x + "attn.c_proj.weight", false),
            dense(p, x + "mlp.c_fc.weight", x + "mlp.c_fc.weight", false),
            dense(p, x + "mlp.c_proj.weight", x + "mlp.c_proj.weight", false)};
        layers[l] = new Layer(
            p.span(x + "ln_1.weight"), p.span(x + "ln_1.bias"),
            m[0], p.span(x + "attn.c_attn.bias"),
            m[1], p.span(x + "attn.c_proj.bias"),
            p.span(x + "ln_2.weight"), p.span(x + "ln_2.bias"),
            m[2], p.span(x + "mlp.c_fc.bias"),
            m[3], p.span(x + "mlp.c_proj.bias"));
      }
    } else {
      tokEmb = p.span("model.embed_tokens.weight");
      posEmb = null;
      normFW = p.span("model.norm.weight");
      normFB = null;
      for (int l = 0; l < layers.length; l++) {
        String x = "model.layers." + l + ".";
        Matrix[] m = packed != null ? packed[l] : new Matrix[] {
            dense(p, x + "self_attn.q_proj.weight", x + "self_attn.v_proj.weight", true),
            dense(p, x + "self_attn.o_proj.weight", x + "self_attn.o_proj.weight", true),
            dense(p, x + "mlp.gate_proj.weight", x + "mlp.up_proj.weight", true),
            dense(p, x + "mlp.down_proj.weight", x + "mlp.down_proj.weight", true)};
        layers[l] = new Layer(
            p.span(x + "input_layernorm.weight"), null,
            m[0], null,
            m[1], null,
            p.span(x + "post_attention_layernorm.weight"), null,
            m[2], null,
            m[3], null);
      }
    }
    head = cfg.tiedEmbeddings() ? tokEmb : p.span("lm_head.weight");
    valueW = p.span(ParamLayout.VALUE_WEIGHT);
    valueB = p.span(ParamLayout.VALUE_BIAS);
  }

  /** Input and output features of a slot's (fused) matrix: {in, out}. */
  static int[] slotShape(ModelConfig cfg, ParamLayout.Slot slot) {
    int c = cfg.hidden();
    int w3 = (cfg.heads() + 2 * cfg.kvHeads()) * cfg.headDim();
    int hd = cfg.heads() * cfg.headDim();
    boolean gpt2 = cfg.arch() == ModelConfig.Arch.GPT2;
    return switch (slot) {
      case QKV -> new int[] {c, w3};
      case PROJ -> new int[] {hd, c};
      case FC -> new int[] {c, gpt2 ? cfg.intermediate() : 2 * cfg.intermediate()};
      case FC2 -> new int[] {cfg.intermediate(), c};
    };
  }

  private static Matrix dense(Parameters p, String first, String last, boolean outIn) {
    return Matrix.dense(p.spanRange(first, last), outIn);
  }

  /**
   * These views with every span and matrix replaced by {@code f} of it (null stays null): the
   * same model in device memory ({@link DeviceCopy}), a packed base's matrices uploaded packed.
   */
  Weights map(DeviceCopy f) {
    Layer[] mapped = new Layer[layers.length];
    for (int l = 0; l < layers.length; l++) {
      Layer x = layers[l];
      mapped[l] = new Layer(map(f, x.norm1W()), map(f, x.norm1B()), map(f, x.qkvW()),
          map(f, x.qkvB()), map(f, x.projW()), map(f, x.projB()), map(f, x.norm2W()),
          map(f, x.norm2B()), map(f, x.fcW()), map(f, x.fcB()), map(f, x.fc2W()), map(f, x.fc2B()));
    }
    return new Weights(outIn, map(f, tokEmb), map(f, posEmb), map(f, normFW), map(f, normFB),
        map(f, head), map(f, valueW), map(f, valueB), mapped);
  }

  private static Span map(DeviceCopy f, Span s) {
    return s == null ? null : f.apply(s);
  }

  private static Matrix map(DeviceCopy f, Matrix m) {
    return f.apply(m);
  }

  /** These weights with another value head (a LoRA agent's own, over the shared base). */
  Weights withValueHead(Span w, Span b) {
    return new Weights(outIn, tokEmb, posEmb, normFW, normFB, head, w, b, layers);
  }

  /**
   * The gradient views of a LoRA agent: the value head's, and nothing of the frozen base (every
   * other entry null, so the kernels skip the base's weight gradients).
   */
  static Weights valueHeadOnly(int layers, boolean outIn, Span w, Span b) {
    Layer[] empty = new Layer[layers];
    for (int l = 0; l < layers; l++) {
      empty[l] = new Layer(null, null, null, null, null, null, null, null, null, null, null, null);
    }
    return new Weights(outIn, null, null, null, null, null, w, b, empty);
  }
}
