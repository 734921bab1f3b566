package ai.cory.common.model;

import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The output side of the model: value head on every position and the vocabulary head on the
 * requested columns only. The final hidden rows of those columns are gathered into a compact
 * (R, C) block so the head is one GEMM {@code (R, C) x (C, V)} and its weight gradient one GEMM
 * with inner dimension R (per-row GEMMs would stream the (V, C) gradient B times). Every step
 * runs on the workspace's backend ({@link Kernels}), so the heads run where the trunk ran.
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
    Kernels kern = ws.kernels;
    if (opt.values()) {
      kern.valueHead(ws.values, ws.normF, w.valueW, w.valueB, n, c);
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
    Matrix head = Matrix.dense(w.head, true);
    for (int r0 = 0; r0 < r; r0 += chunk) {
      int count = Math.min(chunk, r - r0);
      kern.gatherRows(ws.hc, ws.normF, ws.rowStat, r0, count, c);
      kern.linear(ws.logits, ws.hc, head, null, count, c, vocab, false);
      kern.vocabForward(ws.logits, vocab, ws.rows, r0, count, ws.lse, ws.logp,
          opt.entropy() ? ws.entropy : null, toLogProbs, refLogProbs,
          refLogProbs != null ? ws.kl : null);
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
    Kernels kern = ws.kernels;
    ws.dnormF.zero(0, (long) n * c);
    if (opt.values()) {
      kern.valueHeadBackward(ws.dnormF, g.valueW, g.valueB, ws.dvalues, ws.normF, w.valueW, n, c);
    }
    if (r == 0) {
      return;
    }
    kern.vocabBackward(ws.logits, vocab, ws.rows, 0, r, ws.lse,
        opt.vocab() == ForwardOptions.Vocab.LOG_PROBS, ws.dlogp, dFull);
    // frozen head (LoRA): no weight gradient
    kern.linearBackward(ws.dhc, g.head == null ? null : Matrix.dense(g.head, true), null, ws.logits,
        ws.hc, Matrix.dense(w.head, true), r, c, vocab);
    kern.scatterAddRows(ws.dnormF, ws.dhc, ws.rowStat, 0, r, c);
  }

  /** Copies an upstream gradient, any (rows, cols) INDArray, into a host or device span. */
  static void load(Span dst, INDArray src, int rows, int cols, String what) {
    if (src.rank() != 2 || src.size(0) != rows || src.size(1) != cols) {
      throw new IllegalArgumentException(what + " must have shape (" + rows + ", " + cols
          + "), got " + Arrays.toString(src.shape()));
    }
    if (dst instanceof Span.Dev) {
      DeviceResidency.upload(dst, src, (long) rows * cols);
    } else {
      dst.view(0, rows, cols).assign(src);
    }
  }
}
