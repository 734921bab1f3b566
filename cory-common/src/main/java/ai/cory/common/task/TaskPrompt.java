package ai.cory.common.task;

import java.util.Objects;

/**
 * One query of a task, ready for the pioneer.
 *
 * @param index        0-based index of the example in its dataset (after filtering); stable
 * @param query        the raw task query as text: what the reward and the observer template
 *                     see (IMDB: the decoded review prefix; GSM8K: the question)
 * @param prompt       the pioneer's prompt text (IMDB: the query itself; GSM8K: the one-shot
 *                     template around the question)
 * @param promptTokens (T) the tokens the pioneer is conditioned on; for IMDB the first n ids of
 *                     the review, which re-encoding {@code prompt} need not reproduce
 * @param groundTruth  the reference answer (GSM8K: the final answer after {@code ####}), or
 *                     null
 */
public record TaskPrompt(long index, String query, String prompt, int[] promptTokens, String groundTruth) {

  public TaskPrompt {
    Objects.requireNonNull(query, "query");
    Objects.requireNonNull(prompt, "prompt");
    Objects.requireNonNull(promptTokens, "promptTokens");
  }
}
