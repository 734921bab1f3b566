package ai.cory.common.model;

import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The output side of the model: value head on every position and the vocabulary head on the
 * requested columns only. The final hidden rows of those columns are gathered into a compact
 * (R, C) block so the head is one GEMM {@code (R, C) x (C, V)} and its weight gradient one GEMM
 * with inner dimension R (per-row GEMMs would stream the (V, C) gradient B times).
 */
final class LmHead {
  private LmHead() {}

  /** Runs value head and vocabulary head after {@link Transformer#forwardTrunk}. */
  static void forward(Weights w, Workspace ws, TokenBatch batch, ForwardOptions opt,
      Span refLogProbs) {
    int bsz = batch.batch();
    int t = batch.seq();
    int n = bsz * t;
    int c = ws.cfg.hidden();
    int vocab = ws.cfg.vocabSize();
    int cols = opt.columns();
    int r = bsz * cols;
    ws.lse.zero(0, n);
    ws.entropy.zero(0, n);
    ws.kl.zero(0, n);
    ws.logp.zero(0, (long) bsz * (t - 1));
    if (opt.values()) {
      Blas.gemv(false, n, c, 1.0, ws.normF, 0, c, w.valueW, 0, 0.0, ws.values, 0);
      double bias = w.valueB.get(0);
      for (int i = 0; i < n; i++) {
        ws.values.set(i, ws.values.get(i) + bias);
      }
    }
    for (int b = 0; b < bsz; b++) {
      for (int k = 0; k < cols; k++) {
        int col = opt.fromCol() + k;
        int row = b * cols + k;
        boolean hasNext = col + 1 < t;
        ws.rowTargets[row] = hasNext ? batch.token(b, col + 1) : -1;
        ws.rowStat[row] = b * t + col;
        ws.rowLogp[row] = hasNext ? b * (t - 1) + col : -1;
      }
    }
    ws.rows = new VocabSoftmax.Rows(r, ws.rowTargets, ws.rowStat, ws.rowLogp);
    int chunk = ws.headRowsCapacity;
    boolean toLogProbs = opt.vocab() == ForwardOptions.Vocab.LOG_PROBS;
    for (int r0 = 0; r0 < r; r0 += chunk) {
      int count = Math.min(chunk, r - r0);
      for (int k = 0; k < count; k++) {
        ws.hc.copyFrom((long) k * c, ws.normF, (long) ws.rowStat[r0 + k] * c, c);
      }
      Blas.gemm(false, true, count, vocab, c, 1.0, ws.hc, 0, c, w.head, 0, c, 0.0, ws.logits, 0,
          vocab);
      VocabSoftmax.forward(ws.logits, vocab, ws.rows, r0, count, ws.lse, ws.logp,
          opt.entropy() ? ws.entropy : null, toLogProbs, refLogProbs,
          refLogProbs != null ? ws.kl : null, ws.scratch);
    }
  }

  /**
   * Backward of the heads into {@code ws.dnormF} (N, C) and the head / value-head gradients.
   * The logits block is overwritten by its gradient.
   *
   * @param dFull (R, V) gradient of the returned log-probs, or null
   */
  static void backward(Weights w, Weights g, Workspace ws, TokenBatch batch, ForwardOptions opt,
      Span dFull) {
    int bsz = batch.batch();
    int t = batch.seq();
    int n = bsz * t;
    int c = ws.cfg.hidden();
    int vocab = ws.cfg.vocabSize();
    int r = ws.rows.count();
    ws.dnormF.zero(0, (long) n * c);
    if (opt.values()) {
      Blas.ger(n, c, 1.0, ws.dvalues, 0, w.valueW, 0, ws.dnormF, 0, c);
      Blas.gemv(true, n, c, 1.0, ws.normF, 0, c, ws.dvalues, 0, 1.0, g.valueW, 0);
      double sum = 0;
      for (int i = 0; i < n; i++) {
        sum += ws.dvalues.get(i);
      }
      g.valueB.set(0, g.valueB.get(0) + sum);
    }
    if (r == 0) {
      return;
    }
    VocabSoftmax.backward(ws.logits, vocab, ws.rows, 0, r, ws.lse,
        opt.vocab() == ForwardOptions.Vocab.LOG_PROBS, ws.dlogp, dFull, ws.scratch);
    Blas.gemm(false, false, r, c, vocab, 1.0, ws.logits, 0, vocab, w.head, 0, c, 0.0, ws.dhc, 0,
        c);
    if (g.head != null) { // null: a frozen head (LoRA)
      Blas.gemm(true, false, vocab, c, r, 1.0, ws.logits, 0, vocab, ws.hc, 0, c, 1.0, g.head, 0, c);
    }
    double[] row = ws.scratch.row(0, 0, c);
    for (int k = 0; k < r; k++) {
      ws.dhc.read((long) k * c, row, 0, c);
      ws.dnormF.accumulate((long) ws.rowStat[k] * c, row, 0, c);
    }
  }

  /** Copies an upstream gradient given as any (rows, cols) INDArray into a workspace span. */
  static void load(Span dst, INDArray src, int rows, int cols, String what) {
    if (src.rank() != 2 || src.size(0) != rows || src.size(1) != cols) {
      throw new IllegalArgumentException(what + " must have shape (" + rows + ", " + cols
          + "), got " + Arrays.toString(src.shape()));
    }
    dst.view(0, rows, cols).assign(src);
  }
}
