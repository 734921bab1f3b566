package ai.cory.common.model;

import static ai.cory.common.model.GradCheck.assertClose;
import static ai.cory.common.model.GradCheck.dot;
import static ai.cory.common.model.GradCheck.randomSpan;
import static ai.cory.common.model.GradCheck.relativeError;
import static ai.cory.common.model.GradCheck.zeros;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Finite-difference checks (double precision, central differences) of every layer's backward
 * pass in isolation. Each check uses the scalar loss {@code L = sum(out * R)} with a random R, so
 * the upstream gradient is R.
 */
class LayerGradientTest {
  private static final double TOL = 1e-7;
  private final SplittableRandom rng = new SplittableRandom(42);
  private final Scratch scratch = new Scratch(6);

  @Test
  void layerNorm() {
    int n = 5;
    int c = 7;
    Span x = randomSpan(n * c, 1.5, rng);
    Span w = randomSpan(c, 1.0, rng);
    Span b = randomSpan(c, 1.0, rng);
    Span r = randomSpan(n * c, 1.0, rng);
    Span out = zeros(n * c);
    Span mean = zeros(n);
    Span rstd = zeros(n);
    Runnable fwd = () -> LayerNorm.forward(out, mean, rstd, x, w, b, n, c, 1e-5, scratch);
    fwd.run();
    Span dx = zeros(n * c);
    Span dw = zeros(c);
    Span db = zeros(c);
    LayerNorm.backward(dx, dw, db, r, x, mean, rstd, w, n, c, scratch);
    java.util.function.DoubleSupplier loss = () -> {
      fwd.run();
      return dot(out, r, n * c);
    };
    assertClose("LayerNorm dx", relativeError(x, dx, n * c, loss, 1000, rng), TOL, dx, n * c);
    assertClose("LayerNorm dw", relativeError(w, dw, c, loss, 1000, rng), TOL, dw, c);
    assertClose("LayerNorm db", relativeError(b, db, c, loss, 1000, rng), TOL, db, c);
  }

  @Test
  void rmsNorm() {
    int n = 6;
    int c = 8;
    Span x = randomSpan(n * c, 1.5, rng);
    Span w = randomSpan(c, 1.0, rng);
    Span r = randomSpan(n * c, 1.0, rng);
    Span out = zeros(n * c);
    Span rstd = zeros(n);
    Runnable fwd = () -> RmsNorm.forward(out, rstd, x, w, n, c, 1e-5, scratch);
    fwd.run();
    Span dx = zeros(n * c);
    Span dw = zeros(c);
    RmsNorm.backward(dx, dw, r, x, rstd, w, n, c, scratch);
    java.util.function.DoubleSupplier loss = () -> {
      fwd.run();
      return dot(out, r, n * c);
    };
    assertClose("RMSNorm dx", relativeError(x, dx, n * c, loss, 1000, rng), TOL, dx, n * c);
    assertClose("RMSNorm dw", relativeError(w, dw, c, loss, 1000, rng), TOL, dw, c);
  }

  @Test
  void linearInBothLayouts() {
    for (boolean outIn : new boolean[] {false, true}) {
      int n = 4;
      int in = 5;
      int out = 3;
      Span x = randomSpan(n * in, 1.0, rng);
      Span w = randomSpan(in * out, 1.0, rng);
      Span b = randomSpan(out, 1.0, rng);
      Span r = randomSpan(n * out, 1.0, rng);
      Span y = zeros(n * out);
      Span ones = zeros(n);
      for (int i = 0; i < n; i++) {
        ones.set(i, 1.0);
      }
      Runnable fwd = () -> Linear.forward(y, x, Matrix.dense(w, outIn), b, n, in, out, false, ones);
      Span dx = zeros(n * in);
      Span dw = zeros(in * out);
      Span db = zeros(out);
      Linear.backward(dx, false, Matrix.dense(dw, outIn), db, r, x, Matrix.dense(w, outIn), n, in, out, ones);
      java.util.function.DoubleSupplier loss = () -> {
        fwd.run();
        return dot(y, r, n * out);
      };
      String what = outIn ? "Linear (out, in)" : "Conv1D (in, out)";
      assertClose(what + " dx", relativeError(x, dx, n * in, loss, 1000, rng), TOL, dx, n * in);
      assertClose(what + " dW", relativeError(w, dw, in * out, loss, 1000, rng), TOL, dw,
          in * out);
      assertClose(what + " db", relativeError(b, db, out, loss, 1000, rng), TOL, db, out);
    }
  }

  @Test
  void attentionWithPaddingGroupedHeadsAndCausalBlocks() {
    // heads 4 / kv 2 (GQA) and heads = kv (GPT-2); row 0 left-padded, row 1 right-padded;
    // causal row blocks of 2 and 7 (one block) query rows.
    for (int kvHeads : new int[] {2, 4}) {
      for (int block : new int[] {2, 7}) {
        Attention.Dims d = new Attention.Dims(3, 7, 4, kvHeads, 3);
        int n = d.batch() * d.seq();
        int[] mask = {
            0, 0, 1, 1, 1, 1, 1,
            1, 1, 1, 1, 1, 0, 0,
            1, 1, 1, 1, 1, 1, 1};
        Span qkv = randomSpan((long) n * d.width(), 1.0, rng);
        Span y = zeros((long) n * d.outWidth());
        Span att = zeros((long) d.batch() * d.heads() * d.seq() * d.seq());
        Span r = randomSpan((long) n * d.outWidth(), 1.0, rng);
        Runnable fwd = () -> Attention.forward(y, att, qkv, mask, d, scratch, block);
        // The blocked forward equals the one-block forward (checked against the goldens).
        Attention.forward(y, att, qkv, mask, d, scratch, d.seq());
        double[] full = new double[(int) (n * d.outWidth())];
        y.read(0, full, 0, full.length);
        fwd.run();
        for (int i = 0; i < full.length; i++) {
          org.junit.jupiter.api.Assertions.assertEquals(full[i], y.get(i), 1e-12, "y[" + i + "]");
        }
        Span dqkv = zeros((long) n * d.width());
        Span datt = zeros(att.length);
        Attention.backward(dqkv, datt, r, att, qkv, d, scratch, block);
        java.util.function.DoubleSupplier loss = () -> {
          fwd.run();
          return dot(y, r, (long) n * d.outWidth());
        };
        long size = (long) n * d.width();
        assertClose("attention kv=" + kvHeads + " block=" + block,
            relativeError(qkv, dqkv, size, loss, 2000, rng), TOL, dqkv, size);
        // Causality: the output of row 2, position 3 ignores later positions.
        double before = y.get((2L * d.seq() + 3) * d.outWidth());
        qkv.set((2L * d.seq() + 5) * d.width(), 100.0);
        qkv.set((2L * d.seq() + 5) * d.width() + d.heads() * d.headDim(), 100.0);
        fwd.run();
        org.junit.jupiter.api.Assertions.assertEquals(before,
            y.get((2L * d.seq() + 3) * d.outWidth()), 1e-12);
      }
    }
  }

  @Test
  void ropeRotatesAndItsBackwardIsTheInverse() {
    int n = 4;
    int heads = 3;
    int headDim = 6;
    int width = heads * headDim + 2;
    Rope rope = new Rope(16, headDim, 10000.0);
    int[] positions = {0, 3, 7, 15};
    Span x = randomSpan((long) n * width, 1.0, rng);
    Span r = randomSpan((long) n * width, 1.0, rng);
    Span work = zeros((long) n * width);
    java.util.function.DoubleSupplier loss = () -> {
      work.copyFrom(0, x, 0, (long) n * width);
      rope.apply(work, n, width, 1, heads, positions, false, scratch);
      return dot(work, r, (long) n * width);
    };
    Span dx = zeros((long) n * width);
    dx.copyFrom(0, r, 0, (long) n * width);
    rope.apply(dx, n, width, 1, heads, positions, true, scratch);
    assertClose("RoPE", relativeError(x, dx, (long) n * width, loss, 1000, rng), TOL, dx,
        (long) n * width);
  }

  @Test
  void geluNew() {
    int n = 300;
    Span x = randomSpan(n, 2.5, rng);
    Span r = randomSpan(n, 1.0, rng);
    Span y = zeros(n);
    java.util.function.DoubleSupplier loss = () -> {
      Gelu.forward(y, x, n, scratch);
      return dot(y, r, n);
    };
    Span dx = zeros(n);
    Gelu.backward(dx, r, x, n, scratch);
    assertClose("gelu_new", relativeError(x, dx, n, loss, 1000, rng), TOL, dx, n);
  }

  @Test
  void swiGlu() {
    int n = 5;
    int inter = 7;
    Span gu = randomSpan((long) n * 2 * inter, 2.0, rng);
    Span r = randomSpan((long) n * inter, 1.0, rng);
    Span act = zeros((long) n * inter);
    java.util.function.DoubleSupplier loss = () -> {
      SwiGlu.forward(act, gu, n, inter, scratch);
      return dot(act, r, (long) n * inter);
    };
    Span dgu = zeros((long) n * 2 * inter);
    SwiGlu.backward(dgu, r, gu, n, inter, scratch);
    assertClose("SwiGLU", relativeError(gu, dgu, (long) n * 2 * inter, loss, 1000, rng), TOL,
        dgu, (long) n * 2 * inter);
  }

  @Test
  void embeddingWithRepeatedTokens() {
    int vocab = 6;
    int positions = 5;
    int c = 4;
    int[] tokens = {3, 1, 3, 3, 0, 5};
    int[] pos = {0, 1, 2, 0, 1, 4};
    int n = tokens.length;
    Span tok = randomSpan((long) vocab * c, 1.0, rng);
    Span pe = randomSpan((long) positions * c, 1.0, rng);
    Span r = randomSpan((long) n * c, 1.0, rng);
    Span x = zeros((long) n * c);
    java.util.function.DoubleSupplier loss = () -> {
      Embedding.forward(x, tokens, pos, tok, pe, n, c, scratch);
      return dot(x, r, (long) n * c);
    };
    Span dTok = zeros((long) vocab * c);
    Span dPos = zeros((long) positions * c);
    Embedding.backward(dTok, dPos, r, tokens, pos, n, c, scratch);
    assertClose("token embedding", relativeError(tok, dTok, (long) vocab * c, loss, 1000, rng),
        TOL, dTok, (long) vocab * c);
    assertClose("position embedding",
        relativeError(pe, dPos, (long) positions * c, loss, 1000, rng), TOL, dPos,
        (long) positions * c);
  }

  @Test
  void vocabularyLogSoftmaxGatherAndFullLogProbs() {
    // 2 rows of 2 columns, V = 11; the last column has no next token (no taken log-prob).
    int vocab = 11;
    int rowsCount = 4;
    int[] targets = {4, -1, 9, -1};
    int[] stat = {0, 1, 2, 3};
    int[] logpIdx = {0, -1, 1, -1};
    VocabSoftmax.Rows rows = new VocabSoftmax.Rows(rowsCount, targets, stat, logpIdx);
    Span z = randomSpan((long) rowsCount * vocab, 3.0, rng);
    Span aLogp = randomSpan(2, 1.0, rng);
    Span g = randomSpan((long) rowsCount * vocab, 1.0, rng);
    Span work = zeros((long) rowsCount * vocab);
    Span lse = zeros(rowsCount);
    Span logp = zeros(2);
    java.util.function.DoubleSupplier loss = () -> {
      work.copyFrom(0, z, 0, (long) rowsCount * vocab);
      VocabSoftmax.forward(work, vocab, rows, 0, rowsCount, lse, logp, null, true, null, null,
          scratch);
      return dot(logp, aLogp, 2) + dot(work, g, (long) rowsCount * vocab);
    };
    for (boolean holdsLogProbs : new boolean[] {false, true}) {
      work.copyFrom(0, z, 0, (long) rowsCount * vocab);
      VocabSoftmax.forward(work, vocab, rows, 0, rowsCount, lse, logp, null, holdsLogProbs,
          null, null, scratch);
      VocabSoftmax.backward(work, vocab, rows, 0, rowsCount, lse, holdsLogProbs, aLogp, g,
          scratch);
      Span dz = zeros((long) rowsCount * vocab);
      dz.copyFrom(0, work, 0, (long) rowsCount * vocab);
      assertClose("vocab log-softmax (log-probs kept: " + holdsLogProbs + ")",
          relativeError(z, dz, (long) rowsCount * vocab, loss, 1000, rng), TOL, dz,
          (long) rowsCount * vocab);
    }
  }
}
