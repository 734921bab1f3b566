package ai.cory.common.model;

/**
 * Typed spans of one {@link Parameters} buffer (weights or gradients: same layout) in the
 * shapes the kernels use. Llama's adjacent q|k|v and gate|up projections are single spans, so
 * each is one GEMM; {@code outIn} tells whether matrices are stored (out, in) (nn.Linear, Llama)
 * or (in, out) (Conv1D, GPT-2).
 */
final class Weights {
  /** One transformer block. Null entries do not exist in that architecture. */
  record Layer(
      Span norm1W, Span norm1B, // (C)
      Span qkvW, Span qkvB,     // (C, 3C) Conv1D | ((H+2KV)D, C) Linear; bias (3C)
      Span projW, Span projB,   // (C, C) | (C, HD)
      Span norm2W, Span norm2B, // (C)
      Span fcW, Span fcB,       // (C, 4C) | (2I, C): gate | up
      Span fc2W, Span fc2B) {}  // (4C, C) | (C, I)

  final boolean outIn;
  final Span tokEmb;   // (V, C)
  final Span posEmb;   // (P, C) GPT-2 only
  final Span normFW;   // (C)
  final Span normFB;   // (C) GPT-2 only
  final Span head;     // (V, C): the embedding when tied
  final Span valueW;   // (1, C)
  final Span valueB;   // (1)
  final Layer[] layers;

  Weights(Parameters p) {
    ModelConfig cfg = p.layout().config();
    layers = new Layer[cfg.layers()];
    if (cfg.arch() == ModelConfig.Arch.GPT2) {
      outIn = false;
      tokEmb = p.span("wte.weight");
      posEmb = p.span("wpe.weight");
      normFW = p.span("ln_f.weight");
      normFB = p.span("ln_f.bias");
      head = cfg.tiedEmbeddings() ? tokEmb : p.span("lm_head.weight");
      for (int l = 0; l < layers.length; l++) {
        String x = "h." + l + ".";
        layers[l] = new Layer(
            p.span(x + "ln_1.weight"), p.span(x + "ln_1.bias"),
            p.span(x + "attn.c_attn.weight"), p.span(x + "attn.c_attn.bias"),
            p.span(x + "attn.c_proj.weight"), p.span(x + "attn.c_proj.bias"),
            p.span(x + "ln_2.weight"), p.span(x + "ln_2.bias"),
            p.span(x + "mlp.c_fc.weight"), p.span(x + "mlp.c_fc.bias"),
            p.span(x + "mlp.c_proj.weight"), p.span(x + "mlp.c_proj.bias"));
      }
    } else {
      outIn = true;
      tokEmb = p.span("model.embed_tokens.weight");
      posEmb = null;
      normFW = p.span("model.norm.weight");
      normFB = null;
      head = cfg.tiedEmbeddings() ? tokEmb : p.span("lm_head.weight");
      for (int l = 0; l < layers.length; l++) {
        String x = "model.layers." + l + ".";
        layers[l] = new Layer(
            p.span(x + "input_layernorm.weight"), null,
            p.spanRange(x + "self_attn.q_proj.weight", x + "self_attn.v_proj.weight"), null,
            p.span(x + "self_attn.o_proj.weight"), null,
            p.span(x + "post_attention_layernorm.weight"), null,
            p.spanRange(x + "mlp.gate_proj.weight", x + "mlp.up_proj.weight"), null,
            p.span(x + "mlp.down_proj.weight"), null);
      }
    }
    valueW = p.span(ParamLayout.VALUE_WEIGHT);
    valueB = p.span(ParamLayout.VALUE_BIAS);
  }
}
