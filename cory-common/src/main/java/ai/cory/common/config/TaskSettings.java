package ai.cory.common.config;

import ai.cory.common.cory.ObserverTemplate;
import ai.cory.common.task.Gsm8kPrompts;
import ai.cory.common.task.ImdbQueryConfig;
import java.io.Serializable;
import java.util.Objects;

/**
 * {@code cory.task}: where the queries come from and how the prompts are built (CORY.md
 * section 5).
 *
 * @param type                 IMDB or GSM8K
 * @param data                 JSON Lines dataset, local path or Hadoop URI
 * @param maxExamples          use only the first N examples after filtering; 0 = all
 * @param addSpecialTokens     encode prompts with the tokenizer's template (Llama: BOS first)
 * @param observerTemplate     observer prompt with {@code {query}} / {@code {response}}, or null
 *                             for the task's own (CORY.md section 5)
 * @param imdbMinQueryTokens   IMDB: shortest review prefix, {@code >= 1}
 * @param imdbMaxQueryTokens   IMDB: longest review prefix (inclusive)
 * @param imdbMinReviewChars   IMDB: keep reviews longer than this many characters
 * @param imdbSplit            IMDB: keep records whose {@code split} field equals this; null = all
 * @param imdbTextField        IMDB: the field holding the review
 * @param gsm8kPioneerTemplate GSM8K: pioneer prompt with {@code {query}}, or null for CORY.md's
 *                             one-shot prompt
 */
public record TaskSettings(
    TaskType type,
    String data,
    int maxExamples,
    boolean addSpecialTokens,
    String observerTemplate,
    int imdbMinQueryTokens,
    int imdbMaxQueryTokens,
    int imdbMinReviewChars,
    String imdbSplit,
    String imdbTextField,
    String gsm8kPioneerTemplate) implements Serializable {
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
    // validate through the task classes (fields are not assigned yet: use the parameters)
    new ImdbQueryConfig(imdbMinQueryTokens, imdbMaxQueryTokens, imdbMinReviewChars, imdbSplit, imdbTextField,
        addSpecialTokens);
    observerOf(type, observerTemplate, gsm8kPioneerTemplate);
  }

  /** How IMDB queries are cut. */
  public ImdbQueryConfig imdbQueryConfig() {
    return new ImdbQueryConfig(imdbMinQueryTokens, imdbMaxQueryTokens, imdbMinReviewChars, imdbSplit,
        imdbTextField, addSpecialTokens);
  }

  /** GSM8K's pioneer template (CORY.md section 5 unless configured). */
  public String gsm8kPioneer() {
    return gsm8kPioneerTemplate != null ? gsm8kPioneerTemplate : Gsm8kPrompts.PIONEER_TEMPLATE;
  }

  /** The observer template: the configured one, else the task's. */
  public ObserverTemplate observer() {
    return observerOf(type, observerTemplate, gsm8kPioneerTemplate);
  }

  private static ObserverTemplate observerOf(TaskType type, String observerTemplate, String gsm8kPioneerTemplate) {
    if (observerTemplate != null) {
      return new ObserverTemplate(observerTemplate);
    }
    if (type == TaskType.IMDB) {
      return ObserverTemplate.IMDB;
    }
    return ObserverTemplate.withReference(
        gsm8kPioneerTemplate != null ? gsm8kPioneerTemplate : Gsm8kPrompts.PIONEER_TEMPLATE);
  }
}
