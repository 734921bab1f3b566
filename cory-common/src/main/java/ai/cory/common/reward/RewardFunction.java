package ai.cory.common.reward;

import java.util.List;

/**
 * A task reward R(q, a), scored a batch at a time (a classifier runs batched). Implementations
 * are thread-safe. Users plug in their own through {@link RewardFactory}: a public class
 * implementing this interface with a public constructor taking a Typesafe {@code Config}
 * (optionally followed by a {@link RewardContext}).
 */
@FunctionalInterface
public interface RewardFunction {

  /**
   * Scores every item.
   *
   * @return one finite score per item, in the items' order
   */
  double[] score(List<RewardInput> items);
}
