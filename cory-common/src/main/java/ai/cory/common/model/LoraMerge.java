package ai.cory.common.model;

/**
 * A LoRA agent merged into a whole model's buffer: {@code W + (alpha / r) B A} for every adapted
 * projection, the agent's value head, a packed base dequantised ({@link CausalLm#merged()}).
 */
final class LoraMerge {
  private LoraMerge() {}

  static Parameters merged(ModelConfig cfg, Parameters baseParams, Weights baseWeights,
      boolean packed, Parameters params, LoraWeights adapters, LoraSpec spec) {
    Parameters out = Parameters.zeros(ParamLayout.of(cfg), params.dataType());
    for (ParamLayout.Entry e : baseParams.layout().entries()) {
      if (!e.name().startsWith("v_head.")) {
        out.span(e.name()).copyFrom(0, baseParams.span(e.name()), 0, e.length());
      }
    }
    out.span(ParamLayout.VALUE_WEIGHT).copyFrom(0, adapters.valueW, 0, cfg.hidden());
    out.span(ParamLayout.VALUE_BIAS).copyFrom(0, adapters.valueB, 0, 1);
    Weights w = new Weights(out);
    if (packed) {
      for (int l = 0; l < cfg.layers(); l++) {
        for (ParamLayout.Slot slot : ParamLayout.Slot.values()) {
          unpackInto(cfg, baseWeights.layers[l].matrix(slot), w.layers[l].matrix(slot), slot);
        }
      }
    }
    for (ParamLayout.AdapterSite site : ParamLayout.adapterSites(cfg, spec)) {
      Matrix m = w.layers[site.layer()].matrix(site.slot());
      int total = Weights.slotShape(cfg, site.slot())[1];
      Span a = params.span(site.aName());
      Span b = params.span(site.bName());
      int r = spec.rank();
      if (m.outIn) { // rows [off, off + out) of W (total, in) += s B A
        Blas.gemm(false, false, site.out(), site.in(), r, spec.scale(), b, 0, r, a, 0, site.in(),
            1.0, m.dense, (long) site.colOffset() * site.in(), site.in());
      } else {       // columns [off, off + out) of W (in, total) += s A^T B^T
        Blas.gemm(true, true, site.in(), site.out(), r, spec.scale(), a, 0, site.in(), b, 0, r,
            1.0, m.dense, site.colOffset(), total);
      }
    }
    return out;
  }

  private static void unpackInto(ModelConfig cfg, Matrix from, Matrix to,
      ParamLayout.Slot slot) {
    int[] shape = Weights.slotShape(cfg, slot);
    int in = shape[0];
    int out = shape[1];
    float[] row = new float[in];
    for (int r = 0; r < out; r++) {
      from.readRow(r, in, out, row);
      if (to.outIn) {
        to.dense.writeFloats((long) r * in, row, 0, in);
      } else {
        for (int k = 0; k < in; k++) {
          to.dense.set((long) k * out + r, row[k]);
        }
      }
    }
  }
}
