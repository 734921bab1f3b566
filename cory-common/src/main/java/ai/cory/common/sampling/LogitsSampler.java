package ai.cory.common.sampling;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.Objects;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.concurrency.AffinityManager;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Next-token choice with the semantics of Hugging Face {@code generate()} (transformers 4.3x,
 * {@code generation/logits_process.py}), applied in HF's order:
 * <ol>
 *   <li>{@code RepetitionPenaltyLogitsProcessor}: for every distinct id already in the row,
 *       {@code s < 0 ? s * penalty : s / penalty};</li>
 *   <li>greedy: the first index of the maximum ({@code torch.argmax}); nothing below applies;</li>
 *   <li>{@code TemperatureLogitsWarper}: {@code s / temperature};</li>
 *   <li>{@code TopKLogitsWarper}: remove {@code s < (k-th largest s)}, ties with the k-th kept;</li>
 *   <li>{@code TopPLogitsWarper}: sort ascending, cumulative softmax, remove the tokens whose
 *       cumulative probability is {@code <= 1 - top_p}, always keep the largest; ties are
 *       ordered by index (a stable sort);</li>
 *   <li>softmax over what is left and a categorical draw by inverse CDF with one uniform per row
 *       from {@link CounterRng} (seed, global row, step).</li>
 * </ol>
 * Arithmetic is in double whatever the logits' type (HF works in the logits' dtype), so results
 * can differ from HF only where a float32 rounding decides an exact top-k / top-p boundary.
 *
 * <p>Cost per active row: one copy of the V logits, one pass per enabled processor, V
 * exponentials and a partial scan for the draw. Top-k uses a quickselect (no sort); top-p sorts
 * only a top set grown until the mass left outside it is surely removed (the whole vocabulary
 * only for a very flat distribution with top-p near 1). All scratch is allocated once.
 *
 * <p>Not thread-safe: one instance per generating thread.
 */
public final class LogitsSampler implements Sampler {
  /** First size of the top set examined by top-p; grown 4x while it is too small. */
  private static final int NUCLEUS_FIRST_GUESS = 64;

  private final SamplingParams params;
  private final int vocabSize;
  private final double[] scores; // (V) the current row's processed scores
  private final double[] weights; // (V) exp(score - max) of the candidates
  private final int[] order; // (V) candidate token ids
  private final int[] seenStamp; // (V) seenStamp[id] == epoch: id already penalised in this row
  private final float[] floatRow; // (V) copy buffer for FLOAT logits
  private int epoch;

  /** Sampler for logits of width {@code vocabSize}. */
  public LogitsSampler(SamplingParams params, int vocabSize) {
    this.params = Objects.requireNonNull(params, "params");
    if (vocabSize <= 0) {
      throw new IllegalArgumentException("vocabSize must be > 0, got " + vocabSize);
    }
    this.vocabSize = vocabSize;
    this.scores = new double[vocabSize];
    this.weights = new double[vocabSize];
    this.order = new int[vocabSize];
    this.seenStamp = new int[vocabSize];
    this.floatRow = new float[vocabSize];
  }

  public SamplingParams params() {
    return params;
  }

  public int vocabSize() {
    return vocabSize;
  }

  @Override
  public int[] sample(INDArray logits, SamplingBatch batch, int step, int[] out) {
    checkArguments(logits, batch, step, out);
    // No-op on CPU; on a GPU backend makes the host copy current before we read it.
    Nd4j.getAffinityManager().ensureLocation(logits, AffinityManager.Location.HOST);
    sampleRows(logits, batch, step, out, 0, batch.rows());
    return out;
  }

  /** Rows {@code [fromRow, toRow)} of an already checked, host-resident batch. */
  void sampleRows(INDArray logits, SamplingBatch batch, int step, int[] out, int fromRow, int toRow) {
    boolean isFloat = logits.dataType() == DataType.FLOAT;
    FloatBuffer floats = isFloat ? logits.data().asNioFloat() : null;
    DoubleBuffer doubles = isFloat ? null : logits.data().asNioDouble();
    long[] stride = logits.stride(); // (B, V) element strides
    for (int b = fromRow; b < toRow; b++) {
      if (!batch.active()[b]) {
        continue;
      }
      long base = logits.offset() + b * stride[0];
      if (isFloat) {
        loadFloats(floats, base, stride[1]);
      } else {
        loadDoubles(doubles, base, stride[1]);
      }
      double u = CounterRng.uniform(batch.seed(), batch.globalRows()[b], step);
      out[b] = choose(batch.history(), b, u, null, step);
    }
  }

  /**
   * One row from plain arrays (for callers holding {@code float[]} logits, and for tests).
   *
   * @param logits  (V) logits; not modified
   * @param history tokens already in the row
   * @param uniform the row's uniform in [0, 1) (ignored when greedy)
   */
  public int sampleRow(double[] logits, int[] history, double uniform) {
    if (!(uniform >= 0 && uniform < 1)) {
      throw new IllegalArgumentException("uniform must be in [0, 1), got " + uniform);
    }
    loadArray(logits);
    return choose(singleRow(history), 0, uniform, null, 0);
  }

  /**
   * The full distribution a draw of this row is made from (one-hot at the argmax when greedy):
   * every processor applied, removed tokens at exactly 0.
   *
   * @param logits   (V) logits; not modified
   * @param history  tokens already in the row
   * @param probsOut (V) receives the probabilities
   */
  public void distribution(double[] logits, int[] history, double[] probsOut) {
    if (probsOut.length != vocabSize) {
      throw new IllegalArgumentException(
          "probsOut has length " + probsOut.length + ", expected vocabSize " + vocabSize);
    }
    loadArray(logits);
    choose(singleRow(history), 0, 0.0, probsOut, 0);
  }

  /** Processes {@link #scores} (loaded with the row) and returns the chosen id. */
  private int choose(TokenHistory history, int row, double uniform, double[] probsOut, int step) {
    checkNoNaN(row, step);
    if (params.penalizes()) {
      penalize(history, row);
    }
    if (params.greedy()) {
      int best = argmax();
      if (probsOut != null) {
        Arrays.fill(probsOut, 0.0);
        probsOut[best] = 1.0;
      }
      return best;
    }
    if (params.temperature() != 1.0) {
      double t = params.temperature();
      for (int i = 0; i < vocabSize; i++) {
        scores[i] = scores[i] / t;
      }
    }
    boolean topK = params.topK() > 0 && params.topK() < vocabSize;
    boolean topP = params.topP() < 1.0;
    int n = vocabSize;
    if (topK) {
      n = topKCandidates(params.topK());
    } else if (topP) {
      for (int i = 0; i < vocabSize; i++) {
        order[i] = i;
      }
    }
    boolean filtered = topK || topP;
    double total = computeWeights(n, filtered);
    checkTotal(total, row, step);
    if (topP) {
      n = nucleus(n, total);
      total = 0;
      for (int i = 0; i < n; i++) {
        total += weights[order[i]];
      }
    }
    if (probsOut != null) {
      Arrays.fill(probsOut, 0.0);
      for (int i = 0; i < n; i++) {
        int id = filtered ? order[i] : i;
        probsOut[id] = weights[id] / total;
      }
    }
    return draw(n, filtered, total, uniform);
  }

  /** HF RepetitionPenaltyLogitsProcessor: gather/scatter over the row's ids = distinct ids. */
  private void penalize(TokenHistory history, int row) {
    double penalty = params.repetitionPenalty();
    int stamp = nextEpoch();
    int length = history.length(row);
    for (int p = 0; p < length; p++) {
      int id = history.token(row, p);
      if (id < 0 || id >= vocabSize) {
        throw new IllegalArgumentException("token history of row " + row + " holds id " + id
            + " at position " + p + ", outside the vocabulary [0, " + vocabSize + ")");
      }
      if (seenStamp[id] != stamp) {
        seenStamp[id] = stamp;
        double s = scores[id];
        scores[id] = s < 0 ? s * penalty : s / penalty;
      }
    }
  }

  /** First index of the maximum, like torch.argmax. */
  private int argmax() {
    int best = 0;
    double bestScore = scores[0];
    for (int i = 1; i < vocabSize; i++) {
      if (scores[i] > bestScore) {
        bestScore = scores[i];
        best = i;
      }
    }
    return best;
  }

  /**
   * HF TopKLogitsWarper: candidates are the ids with {@code s >= k-th largest s}, so ties with
   * the k-th are all kept. Leaves them in {@code order[0..n)} and returns n.
   */
  private int topKCandidates(int k) {
    for (int i = 0; i < vocabSize; i++) {
      order[i] = i;
    }
    IndexOrder.selectFirst(scores, order, 0, vocabSize, k);
    double kth = Double.POSITIVE_INFINITY;
    for (int i = 0; i < k; i++) {
      kth = Math.min(kth, scores[order[i]]);
    }
    int n = k;
    for (int i = k; i < vocabSize; i++) {
      int id = order[i];
      if (scores[id] == kth) {
        order[i] = order[n];
        order[n++] = id;
      }
    }
    return n;
  }

  /**
   * Fills {@code weights[id] = exp(s - max)} for the candidates ({@code order[0..n)} when
   * filtered, else all ids) and returns their sum, accumulated in the order the draw scans.
   */
  private double computeWeights(int n, boolean filtered) {
    double max = Double.NEGATIVE_INFINITY;
    for (int i = 0; i < n; i++) {
      max = Math.max(max, scores[filtered ? order[i] : i]);
    }
    double total = 0;
    if (filtered) {
      for (int i = 0; i < n; i++) {
        int id = order[i];
        double w = Math.exp(scores[id] - max);
        weights[id] = w;
        total += w;
      }
    } else {
      for (int i = 0; i < n; i++) {
        double w = Math.exp(scores[i] - max);
        weights[i] = w;
        total += w;
      }
    }
    return total;
  }

  /**
   * HF TopPLogitsWarper over the candidates {@code order[0..n)} with weight sum {@code total}.
   * Only a top set of m ids is sorted: once the mass outside it is {@code <= 1 - top_p}, every
   * id outside has cumulative probability {@code <= 1 - top_p} and is removed whatever its
   * place in the ascending order. Leaves the kept ids in {@code order[0..kept)}, descending.
   */
  private int nucleus(int n, double total) {
    double removable = 1.0 - params.topP();
    int selected = 0; // order[0..selected) already hold the top `selected` ids
    int m = Math.min(n, NUCLEUS_FIRST_GUESS);
    double restMass;
    while (true) {
      IndexOrder.selectFirst(scores, order, selected, n, m - selected);
      selected = m;
      double rest = 0;
      for (int i = m; i < n; i++) {
        rest += weights[order[i]];
      }
      restMass = rest / total;
      if (m == n || restMass <= removable) {
        break;
      }
      m = (int) Math.min(n, 4L * m);
    }
    IndexOrder.sortDescending(scores, order, 0, m);
    // Ascending walk from the smallest of the top set; removal is a prefix of that walk
    // because the cumulative probability never decreases. order[0] (the largest) always stays.
    double cumulative = restMass;
    int kept = m;
    for (int j = m - 1; j >= 1; j--) {
      cumulative += weights[order[j]] / total;
      if (cumulative > removable) {
        break;
      }
      kept = j;
    }
    return kept;
  }

  /** Inverse CDF: the first id whose cumulative weight exceeds {@code uniform * total}. */
  private int draw(int n, boolean filtered, double total, double uniform) {
    double target = uniform * total;
    double cumulative = 0;
    int lastPositive = -1;
    for (int i = 0; i < n; i++) {
      int id = filtered ? order[i] : i;
      double w = weights[id];
      if (w > 0) {
        cumulative += w;
        lastPositive = id;
        if (cumulative > target) {
          return id;
        }
      }
    }
    // Only reached when uniform * total rounds up to total.
    return lastPositive;
  }

  private void loadFloats(FloatBuffer buffer, long base, long stride) {
    if (stride == 1) {
      buffer.get(Math.toIntExact(base), floatRow, 0, vocabSize);
      for (int i = 0; i < vocabSize; i++) {
        scores[i] = floatRow[i];
      }
    } else {
      for (int i = 0; i < vocabSize; i++) {
        scores[i] = buffer.get(Math.toIntExact(base + i * stride));
      }
    }
  }

  private void loadDoubles(DoubleBuffer buffer, long base, long stride) {
    if (stride == 1) {
      buffer.get(Math.toIntExact(base), scores, 0, vocabSize);
    } else {
      for (int i = 0; i < vocabSize; i++) {
        scores[i] = buffer.get(Math.toIntExact(base + i * stride));
      }
    }
  }

  private void loadArray(double[] logits) {
    if (logits.length != vocabSize) {
      throw new IllegalArgumentException(
          "logits row has length " + logits.length + ", expected vocabSize " + vocabSize);
    }
    System.arraycopy(logits, 0, scores, 0, vocabSize);
  }

  /** Validates a {@link #sample} call for logits of width {@code vocabSize}. */
  static void checkArguments(INDArray logits, SamplingBatch batch, int step, int[] out, int vocabSize) {
    long[] shape = logits.shape();
    if (shape.length != 2 || shape[0] != batch.rows() || shape[1] != vocabSize) {
      throw new IllegalArgumentException("logits must be (B, V) = (" + batch.rows() + ", "
          + vocabSize + "), got " + Arrays.toString(shape));
    }
    if (logits.dataType() != DataType.FLOAT && logits.dataType() != DataType.DOUBLE) {
      throw new IllegalArgumentException(
          "logits must be FLOAT or DOUBLE, got " + logits.dataType());
    }
    if (logits.data().length() > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(
          "logits buffer of " + logits.data().length() + " elements exceeds 2^31 - 1");
    }
    if (out.length < batch.rows()) {
      throw new IllegalArgumentException(
          "out has length " + out.length + ", batch has " + batch.rows() + " rows");
    }
    if (step < 0) {
      throw new IllegalArgumentException("step must be >= 0, got " + step);
    }
  }

  private void checkArguments(INDArray logits, SamplingBatch batch, int step, int[] out) {
    checkArguments(logits, batch, step, out, vocabSize);
  }

  private void checkNoNaN(int row, int step) {
    for (int i = 0; i < vocabSize; i++) {
      if (Double.isNaN(scores[i])) {
        throw new IllegalStateException(
            "logits of row " + row + " at step " + step + " hold NaN at token id " + i);
      }
    }
  }

  private static void checkTotal(double total, int row, int step) {
    // +inf logits make exp(inf - inf) = NaN; all -inf make 0: HF's multinomial rejects both.
    if (!(total > 0) || Double.isInfinite(total)) {
      throw new IllegalStateException("logits of row " + row + " at step " + step
          + " give no valid distribution (all -inf, or +inf present): weight sum " + total);
    }
  }

  private int nextEpoch() {
    if (++epoch == 0) {
      Arrays.fill(seenStamp, 0);
      epoch = 1;
    }
    return epoch;
  }

  private static TokenHistory singleRow(int[] history) {
    return TokenHistory.of(new int[][] {history}, new int[] {history.length});
  }
}
