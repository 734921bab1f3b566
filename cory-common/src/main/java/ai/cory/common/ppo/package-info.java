/**
 * PPO math as pure functions with TRL 0.7.9 {@code PPOTrainer.step} semantics (design:
 * {@code shared/design/CORY.md} section 3; reference: {@code trl/core.py},
 * {@code trl/trainer/ppo_trainer.py}, {@code trl/trainer/utils.py} of TRL 0.7.9).
 *
 * <h2>Layout</h2>
 * Per-token quantities are {@code double[][]} grids of shape (B, T): row j is one
 * (prompt, response) pair, column t belongs to the prediction of token t+1 of
 * {@code prompt ++ response} (so T is the padded sequence length minus one). The mask is a grid
 * of the same shape holding exactly 0 or 1: 1 on the columns that predict response tokens.
 * Grids are small (B x T doubles), so every function works in double precision on plain
 * arrays; {@link ai.cory.common.ppo.Grids} converts to and from ND4J {@code INDArray} at the
 * engine boundary (log-probabilities in, upstream gradients out). Like TRL, KL, rewards and
 * GAE are computed on every column (query and padding included) and masked later; only
 * masked-in entries influence the loss.
 *
 * <h2>Distributed runs</h2>
 * Every batch-wide statistic is a sum that W workers can all-reduce, so a W-worker run gets
 * the same numbers as one worker holding the whole batch:
 * <ul>
 *   <li>advantage whitening (and optional reward whitening): {@link
 *       ai.cory.common.ppo.MaskedMoments} in two rounds, the same protocol as TRL's
 *       {@code get_global_statistics}: (count, sum) about 0 gives the global mean, then the
 *       squared deviations about that mean give the variance
 *       ({@link ai.cory.common.ppo.MaskedMoments#allReduced(double[][], double[][],
 *       java.util.function.UnaryOperator)} runs both rounds given a SUM all-reduce);
 *   <li>running score moments: the batch's {@link ai.cory.common.ppo.MaskedMoments} of the raw
 *       scores feed {@link ai.cory.common.ppo.RunningMoments#updated};
 *   <li>KL-controller input and rollout metrics: {@link ai.cory.common.ppo.RolloutSums};
 *   <li>minibatch loss and its statistics: {@link ai.cory.common.ppo.LossSums}; the gradients
 *       are then scaled by the global token count, so summing them across workers gives the
 *       gradient of the whole minibatch's masked mean.
 * </ul>
 * Each of these records has {@code toArray()} / {@code fromArray(...)} for the all-reduce.
 */
package ai.cory.common.ppo;
