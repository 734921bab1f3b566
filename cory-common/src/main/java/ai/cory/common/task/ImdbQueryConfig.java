package ai.cory.common.task;

/**
 * How IMDB queries are cut from reviews (CORY.md section 5). The reference code (TRL's
 * {@code gpt2-sentiment} recipe) keeps training reviews longer than a character threshold and
 * takes the first n tokens with n drawn uniformly; {@code LengthSampler(2, 8)} there excludes 8.
 *
 * @param minTokens             smallest query length n, >= 1
 * @param maxTokens             largest query length n (inclusive), >= minTokens
 * @param minReviewChars        keep reviews strictly longer than this many characters
 *                              (Unicode code points, like Python's len); 0 keeps all non-empty
 * @param split                 keep records whose {@code split} field equals this, or null to
 *                              keep every record (files without a split field)
 * @param textField             the field holding the review
 * @param addSpecialTokens      encode the review with the tokenizer's template (HF
 *                              {@code tokenizer.encode} default: true; GPT-2 adds nothing)
 */
public record ImdbQueryConfig(
    int minTokens, int maxTokens, int minReviewChars, String split, String textField,
    boolean addSpecialTokens) {

  /** Field of the split in the shared IMDB files. */
  public static final String SPLIT_FIELD = "split";

  public ImdbQueryConfig {
    if (minTokens < 1) {
      throw new IllegalArgumentException("imdb minTokens must be >= 1, got " + minTokens);
    }
    if (maxTokens < minTokens) {
      throw new IllegalArgumentException(
          "imdb maxTokens (" + maxTokens + ") must be >= minTokens (" + minTokens + ")");
    }
    if (minReviewChars < 0) {
      throw new IllegalArgumentException("imdb minReviewChars must be >= 0, got " + minReviewChars);
    }
    if (textField == null || textField.isEmpty()) {
      throw new IllegalArgumentException("imdb textField must be a field name");
    }
  }

  /** The reference code: 2..7 tokens of training reviews longer than 100 characters. */
  public static ImdbQueryConfig referenceCode() {
    return new ImdbQueryConfig(2, 7, 100, "train", "text", true);
  }

  /** The paper's wording: 2..8 tokens of training reviews. */
  public static ImdbQueryConfig paper() {
    return new ImdbQueryConfig(2, 8, 0, "train", "text", true);
  }
}
