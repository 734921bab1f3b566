package ai.cory.common.model;

import java.util.Arrays;

/**
 * A (B, T) block of token ids with its attention mask (1 = real token, 0 = padding; padding may
 * sit left or right) and the position ids derived from it: a real token's position is the number
 * of real tokens before it in its row ({@code cumsum(mask) - 1}, what HF {@code generate()}
 * uses for left padding, and {@code 0..len-1} for right padding as in TRL's forward pass). A
 * padding token gets its column index; its outputs are undefined and never attended to.
 */
public final class TokenBatch {
  private final int batch;
  private final int seq;
  private final int[] tokens;    // (B*T)
  private final int[] mask;      // (B*T)
  private final int[] positions; // (B*T)

  private TokenBatch(int batch, int seq, int[] tokens, int[] mask) {
    this.batch = batch;
    this.seq = seq;
    this.tokens = tokens;
    this.mask = mask;
    this.positions = new int[tokens.length];
    for (int b = 0; b < batch; b++) {
      int real = 0;
      for (int t = 0; t < seq; t++) {
        int r = b * seq + t;
        positions[r] = mask[r] != 0 ? real++ : t;
      }
    }
  }

  /**
   * A chunk of a KV cache's columns as a batch over its arrays, aliased (not copied): rows
   * {@code b * n + i}, positions as the cache assigned them (they continue each row's count of
   * real tokens, which this batch alone cannot know).
   */
  static TokenBatch chunk(int batch, int n, int[] tokens, int[] positions, int[] mask) {
    return new TokenBatch(batch, n, tokens, mask, positions);
  }

  private TokenBatch(int batch, int seq, int[] tokens, int[] mask, int[] positions) {
    this.batch = batch;
    this.seq = seq;
    this.tokens = tokens;
    this.mask = mask;
    this.positions = positions;
  }

  /** Rows of equal length, no padding. */
  public static TokenBatch of(int[][] tokens) {
    return of(tokens, null);
  }

  /**
   * @param tokens (B, T) ids, every row the same length
   * @param mask   (B, T) 1 real / 0 padding, or null for all real
   */
  public static TokenBatch of(int[][] tokens, int[][] mask) {
    if (tokens.length == 0 || tokens[0].length == 0) {
      throw new IllegalArgumentException("empty token batch");
    }
    int b = tokens.length;
    int t = tokens[0].length;
    if (mask != null && mask.length != b) {
      throw new IllegalArgumentException("mask has " + mask.length + " rows, tokens " + b);
    }
    int[] flatTokens = new int[b * t];
    int[] flatMask = new int[b * t];
    for (int i = 0; i < b; i++) {
      if (tokens[i].length != t) {
        throw new IllegalArgumentException(
            "token row " + i + " has length " + tokens[i].length + ", row 0 has " + t);
      }
      if (mask != null && mask[i].length != t) {
        throw new IllegalArgumentException(
            "mask row " + i + " has length " + mask[i].length + ", tokens have " + t);
      }
      for (int j = 0; j < t; j++) {
        flatTokens[i * t + j] = tokens[i][j];
        int m = mask == null ? 1 : mask[i][j];
        if (m != 0 && m != 1) {
          throw new IllegalArgumentException(
              "mask[" + i + "][" + j + "] = " + m + ", expected 0 or 1");
        }
        flatMask[i * t + j] = m;
      }
    }
    return new TokenBatch(b, t, flatTokens, flatMask);
  }

  /** B. */
  public int batch() {
    return batch;
  }

  /** T. */
  public int seq() {
    return seq;
  }

  /** Token id at (b, t). */
  public int token(int b, int t) {
    return tokens[b * seq + t];
  }

  /** Mask at (b, t). */
  public int mask(int b, int t) {
    return mask[b * seq + t];
  }

  /** Position id at (b, t). */
  public int position(int b, int t) {
    return positions[b * seq + t];
  }

  int[] tokensFlat() {
    return tokens;
  }

  int[] maskFlat() {
    return mask;
  }

  int[] positionsFlat() {
    return positions;
  }

  /** Checks ids and positions against a model's vocabulary and context length. */
  void validate(ModelConfig cfg) {
    for (int r = 0; r < tokens.length; r++) {
      if (tokens[r] < 0 || tokens[r] >= cfg.vocabSize()) {
        throw new IllegalArgumentException("token " + tokens[r] + " at (" + r / seq + ", "
            + r % seq + ") outside the vocabulary [0, " + cfg.vocabSize() + ")");
      }
      if (positions[r] >= cfg.maxPositions()) {
        throw new IllegalArgumentException("position " + positions[r] + " at (" + r / seq + ", "
            + r % seq + ") exceeds the model's " + cfg.maxPositions() + " positions");
      }
    }
  }

  @Override
  public String toString() {
    return "TokenBatch(" + batch + " x " + seq + ", first row " + Arrays.toString(
        Arrays.copyOf(tokens, Math.min(seq, 8))) + ")";
  }
}
