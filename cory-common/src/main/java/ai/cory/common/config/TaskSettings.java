package ai.cory.common.config;

import java.io.Serializable;
import java.util.Objects;

/**
 * {@code cory.task}: where the queries come from (CORY.md section 5).
 *
 * @param type            IMDB or GSM8K
 * @param data            JSON Lines dataset, local path or Hadoop URI
 * @param maxExamples     use only the first N examples after filtering; 0 = all
 * @param minQueryTokens  IMDB: shortest review prefix, {@code >= 1}
 * @param maxQueryTokens  IMDB: longest review prefix, {@code >= minQueryTokens}
 * @param minReviewChars  IMDB: keep reviews longer than this, {@code >= 0}
 */
public record TaskSettings(TaskType type, String data, int maxExamples, int minQueryTokens, int maxQueryTokens,
    int minReviewChars) implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The two tasks of the paper. */
  public enum TaskType {
    /** Review prefixes, sentiment reward. */
    IMDB,
    /** Maths word problems, exact-match reward. */
    GSM8K
  }

  public TaskSettings {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(data, "data");
    if (maxExamples < 0) {
      throw new IllegalArgumentException("maxExamples must be >= 0 (0 = all), got " + maxExamples);
    }
    if (minQueryTokens < 1 || maxQueryTokens < minQueryTokens) {
      throw new IllegalArgumentException("need 1 <= minQueryTokens <= maxQueryTokens, got " + minQueryTokens
          + ", " + maxQueryTokens);
    }
    if (minReviewChars < 0) {
      throw new IllegalArgumentException("minReviewChars must be >= 0, got " + minReviewChars);
    }
  }
}
