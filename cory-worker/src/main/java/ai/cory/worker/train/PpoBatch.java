package ai.cory.worker.train;

import ai.cory.common.model.TokenBatch;
import java.util.Arrays;
import java.util.List;

/**
 * A batch of (prompt, response) pairs laid out as TRL 0.7.9's {@code batched_forward_pass} does:
 * row j is {@code prompt_j ++ response_j}, RIGHT-padded to the longest row T, positions
 * {@code 0..len-1} (the golden PPO convention, shared/golden/README.md). Per-token grids have
 * T - 1 columns; column t belongs to the prediction of token t + 1, and the response mask is 1
 * exactly on {@code [len(prompt_j) - 1, len(prompt_j) + len(response_j) - 1)}.
 *
 * <p>Because padding is on the right and attention is causal, a subset of rows can be cut to its
 * own longest row ({@link #select}) without changing any output at a real position.
 */
public final class PpoBatch {
  private final int[][] prompts;
  private final int[][] responses;
  private final int padId;
  private final int seq;            // T
  private final int[][] tokens;     // (B, T)
  private final int[][] attention;  // (B, T) 1 real / 0 padding
  private final double[][] mask;    // (B, T-1) response columns

  /**
   * @param prompts   (B) token ids of each prompt, at least one each
   * @param responses (B) token ids of each response, at least one each
   * @param padId     id written into padding (irrelevant to every output)
   */
  public PpoBatch(List<int[]> prompts, List<int[]> responses, int padId) {
    if (prompts.size() != responses.size() || prompts.isEmpty()) {
      throw new IllegalArgumentException("need as many responses as prompts (and at least one), got "
          + prompts.size() + " prompts, " + responses.size() + " responses");
    }
    int rows = prompts.size();
    this.prompts = new int[rows][];
    this.responses = new int[rows][];
    this.padId = padId;
    int longest = 0;
    for (int j = 0; j < rows; j++) {
      int[] p = prompts.get(j);
      int[] r = responses.get(j);
      if (p == null || p.length == 0 || r == null || r.length == 0) {
        throw new IllegalArgumentException("row " + j + " has an empty prompt or response: PPO needs at least "
            + "one token of each");
      }
      this.prompts[j] = p;
      this.responses[j] = r;
      longest = Math.max(longest, p.length + r.length);
    }
    this.seq = longest;
    this.tokens = new int[rows][seq];
    this.attention = new int[rows][seq];
    this.mask = new double[rows][seq - 1];
    for (int j = 0; j < rows; j++) {
      int q = this.prompts[j].length;
      int r = this.responses[j].length;
      Arrays.fill(tokens[j], padId);
      System.arraycopy(this.prompts[j], 0, tokens[j], 0, q);
      System.arraycopy(this.responses[j], 0, tokens[j], q, r);
      Arrays.fill(attention[j], 0, q + r, 1);
      Arrays.fill(mask[j], q - 1, q + r - 1, 1.0);
    }
  }

  /** Rows B. */
  public int rows() {
    return prompts.length;
  }

  /** Padded length T (tokens per row). */
  public int seq() {
    return seq;
  }

  /** Id written into padding. */
  public int padId() {
    return padId;
  }

  /** Per-token grid columns, T - 1. */
  public int cols() {
    return seq - 1;
  }

  /** (B, T-1) response mask (held, not copied). */
  public double[][] mask() {
    return mask;
  }

  /** Prompt of row j. */
  public int[] prompt(int j) {
    return prompts[j];
  }

  /** Response of row j. */
  public int[] response(int j) {
    return responses[j];
  }

  /** First grid column any row's response needs: {@code min_j len(prompt_j) - 1}. */
  public int firstResponseColumn() {
    int first = Integer.MAX_VALUE;
    for (int[] p : prompts) {
      first = Math.min(first, p.length - 1);
    }
    return first;
  }

  /** The (B, T) token block for the engine. */
  public TokenBatch tokenBatch() {
    return TokenBatch.of(tokens, attention);
  }

  /** Rows {@code indices} as a batch of their own (cut to their longest row). */
  public PpoBatch select(int[] indices) {
    List<int[]> p = Arrays.stream(indices).mapToObj(j -> prompts[j]).toList();
    List<int[]> r = Arrays.stream(indices).mapToObj(j -> responses[j]).toList();
    return new PpoBatch(p, r, padId);
  }

  /** Rows {@code [from, to)} as a batch of their own. */
  public PpoBatch slice(int from, int to) {
    int[] idx = new int[to - from];
    for (int i = 0; i < idx.length; i++) {
      idx[i] = from + i;
    }
    return select(idx);
  }

  /**
   * Rows {@code indices} of a (B, T-1) grid of this batch, cut or zero-padded to {@code cols}
   * columns (the width of a selected sub-batch).
   */
  public static double[][] rowsOf(double[][] grid, int[] indices, int cols) {
    double[][] out = new double[indices.length][cols];
    for (int i = 0; i < indices.length; i++) {
      double[] src = grid[indices[i]];
      System.arraycopy(src, 0, out[i], 0, Math.min(cols, src.length));
    }
    return out;
  }
}
