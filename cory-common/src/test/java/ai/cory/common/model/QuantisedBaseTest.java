package ai.cory.common.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.io.LocalFileSource;
import ai.cory.common.testing.SharedAssets;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The packed base: round trips of every format within their stated bounds (NF4 against the
 * published code values of QLoRA), the packed forward equal to a dense forward of the same
 * dequantised weights, LoRA gradients through a packed base against finite differences, and the
 * float32-vs-packed logit error on the real shared models (printed; bounded loosely).
 */
class QuantisedBaseTest {
  /** QLoRA appendix E / bitsandbytes' NF4 values, copied from the paper independently of the code. */
  private static final double[] PUBLISHED_NF4 = {-1.0, -0.6961928009986877, -0.5250730514526367,
      -0.39491748809814453, -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
      0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
      0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0};

  @Test
  void nf4TableIsThePublishedOne() {
    for (int i = 0; i < 16; i++) {
      assertEquals(PUBLISHED_NF4[i], PackedMatrix.NF4[i], 1e-9, "code " + i);
      assertEquals(i, PackedMatrix.nf4Code((float) PUBLISHED_NF4[i]), "a code value maps to itself");
    }
  }

  @Test
  void roundTripsMeetTheirBounds() {
    SplittableRandom rng = new SplittableRandom(1);
    int rows = 7;
    int cols = 150; // not a multiple of 64: a short last NF4 block
    float[] w = new float[rows * cols];
    for (int i = 0; i < w.length; i++) {
      w[i] = (float) (rng.nextGaussian() * (i % 13 == 0 ? 0.5 : 0.02));
    }
    w[3] = 0;
    // double quantisation: the absmax constants' own error, half a step of their 8-bit code
    double[] constants = new double[rows * 3];
    double mean = 0;
    for (int r = 0; r < rows; r++) {
      for (int blk = 0; blk < 3; blk++) {
        constants[r * 3 + blk] = blockMax(w, r * cols, blk * 64, cols);
        mean += constants[r * 3 + blk] / constants.length;
      }
    }
    double spread = 0;
    for (double c : constants) {
      spread = Math.max(spread, Math.abs(c - mean));
    }
    double constantError = spread / 254 * (1 + 1e-5) + 1e-7;
    for (BaseDtype d : List.of(BaseDtype.BF16, BaseDtype.FP16, BaseDtype.INT8, BaseDtype.NF4, BaseDtype.NF4_DQ)) {
      PackedMatrix m = new PackedMatrix(d, rows, cols);
      for (int r = 0; r < rows; r++) {
        m.packRow(r, w, r * cols);
      }
      m.finish();
      float[] back = new float[cols];
      double worst = 0;
      for (int r = 0; r < rows; r++) {
        m.unpackRow(r, back, 0);
        double rowMax = 0;
        for (int k = 0; k < cols; k++) {
          rowMax = Math.max(rowMax, Math.abs(w[r * cols + k]));
        }
        for (int k = 0; k < cols; k++) {
          float x = w[r * cols + k];
          double err = Math.abs(back[k] - x);
          double bound = switch (d) {
            case BF16 -> Math.abs(x) * 0x1p-8;                    // 8 significant bits, half an ulp
            case FP16 -> Math.abs(x) * 0x1p-11 + 0x1p-25;         // 11 bits (+ subnormal step)
            case INT8 -> rowMax / 127 / 2 * (1 + 1e-6);           // half a step of absmax / 127
            case NF4 -> blockMax(w, r * cols, k, cols) * 0.1522; // half the widest NF4 gap (-1, -0.696)
            case NF4_DQ -> blockMax(w, r * cols, k, cols) * 0.1522 + constantError;
            default -> 0;
          };
          assertTrue(err <= bound + 1e-12, d + " row " + r + " col " + k + ": |" + back[k] + " - " + x
              + "| = " + err + " > " + bound);
          worst = Math.max(worst, err);
        }
      }
      assertEquals(0f, unpacked(m, 0, cols)[3], d + ": zero stays zero");
      System.out.printf(Locale.ROOT, "%s round trip: worst |error| %.3e%n", d, worst);
    }
    PackedMatrix nf4 = new PackedMatrix(BaseDtype.NF4, 1, 64);
    assertEquals(32 + 4, nf4.bytes(), "4 bits a weight plus one float absmax per block of 64");
    PackedMatrix dq = new PackedMatrix(BaseDtype.NF4_DQ, 512, 64);
    dq.finish();
    assertEquals(512 * 32 + 512 + 2 * 4, dq.bytes(), "an 8-bit absmax per 64 weights, a float per 256 of them");
  }

  private static double blockMax(float[] w, int rowStart, int k, int cols) {
    int from = k / 64 * 64;
    double m = 0;
    for (int i = from; i < Math.min(cols, from + 64); i++) {
      m = Math.max(m, Math.abs(w[rowStart + i]));
    }
    return m;
  }

  private static float[] unpacked(PackedMatrix m, int r, int cols) {
    float[] out = new float[cols];
    m.unpackRow(r, out, 0);
    return out;
  }

  @Test
  void packedForwardEqualsTheDenseForwardOfTheDequantisedWeights() {
    for (ModelConfig cfg : List.of(ModelGradientTest.tinyGpt2Untied(), ModelGradientTest.tinyLlama(false))) {
      for (BaseDtype d : List.of(BaseDtype.BF16, BaseDtype.INT8, BaseDtype.NF4, BaseDtype.NF4_DQ)) {
        CausalLm dense = CausalLm.random(cfg, DataType.FLOAT, 4);
        CausalLm packed = FrozenBase.pack(dense, d);
        assertTrue(packed.hasPackedBase());
        // the dequantised model, independently: a zero-adapter agent merged into dense weights
        CausalLm agent = packed.withAdapters(LoraSpec.of(2, 2, List.of(), cfg.arch()), 1);
        agent.params().get(ParamLayout.VALUE_WEIGHT).assign(0);
        CausalLm dequantised = CausalLm.of(agent.merged());
        int[][] tokens = {{1, 2, 3, 4, 5, 6}, {6, 5, 4, 3, 2, 1}};
        ForwardOptions opt = new ForwardOptions(0, 6, ForwardOptions.Vocab.LOGITS, false, false);
        INDArray a = packed.forward(packed.newWorkspace(2, 6, false, true), TokenBatch.of(tokens, null), opt)
            .vocab().dup();
        INDArray b = dequantised.forward(dequantised.newWorkspace(2, 6, false, true), TokenBatch.of(tokens, null),
            opt).vocab();
        assertTrue(a.sub(b).amaxNumber().doubleValue() < 1e-5, cfg.arch() + " " + d);
        INDArray f = dense.forward(dense.newWorkspace(2, 6, false, true), TokenBatch.of(tokens, null), opt).vocab();
        assertTrue(a.sub(f).amaxNumber().doubleValue() > 0, d + " really quantises");
      }
    }
  }

  @Test
  void adapterGradientsThroughAPackedBaseMatchFiniteDifferences() {
    ModelConfig cfg = ModelGradientTest.tinyLlama(false);
    CausalLm dense = CausalLm.random(cfg, DataType.DOUBLE, 8);
    Span all = dense.params().span();
    SplittableRandom rng = new SplittableRandom(8);
    for (long i = 0; i < all.length; i++) {
      all.set(i, all.get(i) + 0.3 * rng.nextGaussian());
    }
    CausalLm agent = FrozenBase.pack(dense, BaseDtype.NF4).withAdapters(LoraSpec.of(2, 4, List.of(), cfg.arch()), 3);
    Span ad = agent.params().span();
    for (long i = 0; i < ad.length; i++) {
      ad.set(i, ad.get(i) + 0.3 * rng.nextGaussian());
    }
    int[][] tokens = {{1, 2, 3, 4, 5}, {5, 4, 3, 2, 1}};
    TokenBatch batch = TokenBatch.of(tokens, null);
    ForwardOptions opt = new ForwardOptions(1, 4, ForwardOptions.Vocab.NONE, false, true);
    Workspace ws = agent.newWorkspace(2, 5, true, false);
    INDArray a = Nd4j.randn(DataType.DOUBLE, 2, 4);
    INDArray bv = Nd4j.randn(DataType.DOUBLE, 2, 5);
    DoubleSupplier loss = () -> {
      ForwardResult r = agent.forward(ws, batch, opt);
      return r.logp().mul(a).sumNumber().doubleValue() + r.values().mul(bv).sumNumber().doubleValue();
    };
    agent.forward(ws, batch, opt);
    agent.zeroGrad();
    agent.backward(ws, a, null, bv);
    for (ParamLayout.Entry e : agent.params().layout().entries()) {
      double err = GradCheck.relativeError(agent.params().span(e.name()), agent.grads().span(e.name()), e.length(),
          loss, 8, rng);
      GradCheck.assertClose("nf4 base " + e.name(), err, 1e-6, agent.grads().span(e.name()), e.length());
    }
  }

  @Test
  void fingerprintsTellBasesApartAndRepeat() {
    ModelConfig cfg = ModelGradientTest.tinyGpt2();
    CausalLm one = FrozenBase.random(cfg, DataType.FLOAT, BaseDtype.NF4, 5);
    CausalLm again = FrozenBase.random(cfg, DataType.FLOAT, BaseDtype.NF4, 5);
    CausalLm other = FrozenBase.random(cfg, DataType.FLOAT, BaseDtype.NF4, 6);
    assertEquals(FrozenBase.fingerprint(one), FrozenBase.fingerprint(again));
    assertNotEquals(FrozenBase.fingerprint(one), FrozenBase.fingerprint(other));
    assertTrue(FrozenBase.bytes(one) < FrozenBase.bytes(CausalLm.random(cfg, DataType.FLOAT, 5)));
  }

  @Test
  void sharedModelsLogitErrorPerFormat() throws Exception {
    for (String name : List.of("stories260K", "tiny-gpt2")) {
      LocalFileSource dir = new LocalFileSource(SharedAssets.model(name));
      CausalLm f32 = HfCheckpoint.load(dir, DataType.FLOAT, 0);
      int v = f32.config().vocabSize();
      int[][] tokens = new int[2][24];
      SplittableRandom rng = new SplittableRandom(2);
      for (int[] row : tokens) {
        for (int t = 0; t < row.length; t++) {
          row[t] = rng.nextInt(v);
        }
      }
      ForwardOptions opt = new ForwardOptions(0, 24, ForwardOptions.Vocab.LOGITS, false, false);
      INDArray ref = f32.forward(f32.newWorkspace(2, 24, false, true), TokenBatch.of(tokens, null), opt).vocab().dup();
      double spread = ref.stdNumber().doubleValue();
      for (BaseDtype d : List.of(BaseDtype.BF16, BaseDtype.FP16, BaseDtype.INT8, BaseDtype.NF4, BaseDtype.NF4_DQ)) {
        CausalLm q = FrozenBase.load(dir, DataType.FLOAT, d, 0);
        INDArray got = q.forward(q.newWorkspace(2, 24, false, true), TokenBatch.of(tokens, null), opt).vocab();
        double maxAbs = got.sub(ref).amaxNumber().doubleValue();
        double rms = got.sub(ref).norm2Number().doubleValue() / Math.sqrt(ref.length());
        System.out.printf(Locale.ROOT, "%s %s: logits max |diff| %.4f, rms %.4f (logit std %.3f)%n", name, d, maxAbs,
            rms, spread);
        double allowed = switch (d) {
          case BF16 -> 0.02;
          case FP16 -> 0.005;
          case INT8 -> 0.05;
          default -> 0.5;
        };
        assertTrue(rms < allowed * Math.max(1, spread), name + " " + d + " rms " + rms);
      }
      assertArrayEquals(new long[] {48, v}, ref.shape());
    }
  }
}
