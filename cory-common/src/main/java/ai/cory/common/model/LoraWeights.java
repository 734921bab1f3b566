package ai.cory.common.model;

import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * Typed views of a LoRA agent's adapter buffer ({@link ParamLayout#adapters}, weights or
 * gradients): for every block and projection slot the adapters that add to that slot's output.
 */
final class LoraWeights {
  /**
   * One adapter.
   *
   * @param a         (r, in)
   * @param b         (out, r)
   * @param in        input features
   * @param out       output features
   * @param colOffset first column of the slot's fused output it adds to
   */
  record Adapter(Span a, Span b, int in, int out, int colOffset) {}

  final int rank;
  final double scale;
  final Span valueW;
  final Span valueB;
  private final Adapter[][][] bySlot; // [layer][slot][k]

  LoraWeights(Parameters p) {
    ParamLayout layout = p.layout();
    LoraSpec spec = layout.lora();
    if (spec == null) {
      throw new IllegalArgumentException("not an adapter buffer: " + layout.entries().get(0).name());
    }
    ModelConfig cfg = layout.config();
    this.rank = spec.rank();
    this.scale = spec.scale();
    int slots = ParamLayout.Slot.values().length;
    List<List<List<Adapter>>> lists = new ArrayList<>();
    for (int l = 0; l < cfg.layers(); l++) {
      List<List<Adapter>> layer = new ArrayList<>();
      for (int s = 0; s < slots; s++) {
        layer.add(new ArrayList<>());
      }
      lists.add(layer);
    }
    for (ParamLayout.AdapterSite site : ParamLayout.adapterSites(cfg, spec)) {
      lists.get(site.layer()).get(site.slot().ordinal()).add(new Adapter(p.span(site.aName()),
          p.span(site.bName()), site.in(), site.out(), site.colOffset()));
    }
    bySlot = new Adapter[cfg.layers()][slots][];
    for (int l = 0; l < cfg.layers(); l++) {
      for (int s = 0; s < slots; s++) {
        bySlot[l][s] = lists.get(l).get(s).toArray(new Adapter[0]);
      }
    }
    valueW = p.span(ParamLayout.VALUE_WEIGHT);
    valueB = p.span(ParamLayout.VALUE_BIAS);
  }

  /** {@code src}'s views with every span replaced by {@code f} of it (another memory). */
  LoraWeights(LoraWeights src, UnaryOperator<Span> f) {
    this.rank = src.rank;
    this.scale = src.scale;
    this.valueW = f.apply(src.valueW);
    this.valueB = f.apply(src.valueB);
    this.bySlot = new Adapter[src.bySlot.length][][];
    for (int l = 0; l < bySlot.length; l++) {
      bySlot[l] = new Adapter[src.bySlot[l].length][];
      for (int s = 0; s < bySlot[l].length; s++) {
        Adapter[] from = src.bySlot[l][s];
        bySlot[l][s] = new Adapter[from.length];
        for (int k = 0; k < from.length; k++) {
          Adapter a = from[k];
          bySlot[l][s][k] = new Adapter(f.apply(a.a()), f.apply(a.b()), a.in(), a.out(),
              a.colOffset());
        }
      }
    }
  }

  /** The adapters of block {@code layer}'s {@code slot} (empty when none). */
  Adapter[] at(int layer, ParamLayout.Slot slot) {
    return bySlot[layer][slot.ordinal()];
  }
}
