package ai.cory.driver.train;

import ai.cory.common.testing.SharedAssets;

/**
 * The smallest real training run the driver tests use: stories260K on the 1000-review IMDB sample
 * with the bag-of-words reward, 2 iterations of 4 queries, roles exchanged after every iteration.
 * Tests append their own lines (later HOCON keys win).
 */
public final class TinyImdbRun {
  private TinyImdbRun() {}

  /** The config text, 8 lines and a final newline (tests name the line of an appended key). */
  public static String config() {
    return String.join("\n",
        "cory.model.path = \"" + SharedAssets.model("stories260K") + "\"",
        "cory.task.data = \"" + SharedAssets.path("assets/data/imdb/imdb_sample_1000.jsonl") + "\"",
        "cory.task.max-examples = 40",
        "cory.reward.path = \"" + SharedAssets.path("assets/rewards/imdb-bow-logreg.tsv") + "\"",
        "cory.run { iterations = 2, seed = 5 }",
        "cory.algorithm.role-exchange-period = 1",
        "cory.generation { min-new-tokens = 3, max-new-tokens = 5 }",
        "cory.ppo { batch-size = 4, mini-batch-size = 2, ppo-epochs = 1, learning-rate = 5e-4, init-kl-coef = 0.05 }",
        "");
  }
}
