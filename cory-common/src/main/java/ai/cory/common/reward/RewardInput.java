package ai.cory.common.reward;

import java.util.Objects;

/**
 * What a reward scores: one (query, response) pair, plus the task's ground truth when it has
 * one (GSM8K: the reference answer). The reward sees the query followed by the agent's own
 * response, never the observer's template (CORY.md section 2, step 5).
 *
 * @param query       the task query as text (not the observer prompt)
 * @param response    the agent's decoded response
 * @param groundTruth the reference answer, or null when the task has none
 */
public record RewardInput(String query, String response, String groundTruth) {

  public RewardInput {
    Objects.requireNonNull(query, "query");
    Objects.requireNonNull(response, "response");
  }

  /** An item without ground truth. */
  public static RewardInput of(String query, String response) {
    return new RewardInput(query, response, null);
  }

  public boolean hasGroundTruth() {
    return groundTruth != null;
  }
}
