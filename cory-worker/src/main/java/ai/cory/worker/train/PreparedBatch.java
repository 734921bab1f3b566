package ai.cory.worker.train;

import ai.cory.common.ppo.Gae;
import ai.cory.common.ppo.RolloutSums;
import ai.cory.common.ppo.Rewards;

/**
 * Everything the PPO epochs need from one rollout batch, computed once before them (TRL 0.7.9
 * {@code step} up to the epoch loop). Grids are (B, T-1) in the {@link PpoBatch} layout; entries
 * outside the computed columns are 0 and masked out.
 *
 * @param batch       the right-padded (prompt, response) batch
 * @param rawScores   (B) task scores as given
 * @param scores      (B) scores after scaling / clipping (what the rewards use)
 * @param logProbs    (B, T-1) policy log-probs of the taken tokens at rollout time (old log-probs)
 * @param refLogProbs (B, T-1) frozen reference's log-probs of the same tokens
 * @param values      (B, T-1) value head at each column (unmasked)
 * @param kl          (B, T-1) per-token KL estimate ({@code cory.ppo.kl-penalty})
 * @param rewards     per-token rewards and their KL part
 * @param gae         masked values, advantages before whitening, returns
 * @param advantages  (B, T-1) advantages whitened over the whole batch (all workers)
 * @param sums        all-reduced rollout sums (objective/kl, KL-controller input)
 * @param klCoef      beta used for the rewards
 */
public record PreparedBatch(
    PpoBatch batch,
    double[] rawScores,
    double[] scores,
    double[][] logProbs,
    double[][] refLogProbs,
    double[][] values,
    double[][] kl,
    Rewards.PerToken rewards,
    Gae.Result gae,
    double[][] advantages,
    RolloutSums sums,
    double klCoef) {}
