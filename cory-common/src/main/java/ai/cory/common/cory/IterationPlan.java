package ai.cory.common.cory;

import ai.cory.common.sampling.CounterRng;
import java.io.Serializable;
import java.util.Objects;

/**
 * Everything random or scheduled about iteration k, decided up front by the driver and shipped
 * to the workers (small, Serializable): who is the pioneer, the generation length L shared by
 * both agents (CORY.md section 2, step 2), and the seeds of the rollouts and minibatch shuffles.
 * Every value is a pure function of (run seed, k), so a resumed or re-sharded run replays the
 * same plan.
 *
 * @param iteration           k, 0-based
 * @param pioneer             the agent in the pioneer role during k
 * @param generationLength    L, new tokens per response (responses may stop earlier at EOS)
 * @param exchangeAfter       roles are exchanged once k is done
 * @param pioneerRolloutSeed  sampling seed of the pioneer's generation
 * @param observerRolloutSeed sampling seed of the observer's generation
 * @param pioneerShuffleSeed  seed of the pioneer's PPO minibatch shuffles
 * @param observerShuffleSeed seed of the observer's PPO minibatch shuffles
 */
public record IterationPlan(long iteration, AgentId pioneer, int generationLength, boolean exchangeAfter,
    long pioneerRolloutSeed, long observerRolloutSeed, long pioneerShuffleSeed, long observerShuffleSeed)
    implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Salts of the per-iteration random streams (never reorder: they define a run's numbers). */
  private static final long STREAM_LENGTH = 1;
  private static final long STREAM_PIONEER_ROLLOUT = 2;
  private static final long STREAM_OBSERVER_ROLLOUT = 3;
  private static final long STREAM_PIONEER_SHUFFLE = 4;
  private static final long STREAM_OBSERVER_SHUFFLE = 5;

  public IterationPlan {
    Objects.requireNonNull(pioneer, "pioneer");
    if (iteration < 0 || generationLength < 1) {
      throw new IllegalArgumentException("iteration must be >= 0 and generationLength >= 1, got " + iteration
          + ", " + generationLength);
    }
  }

  /**
   * The plan of iteration {@code k}.
   *
   * @param runSeed       {@code cory.run.seed}
   * @param schedule      the role schedule (period T)
   * @param minNewTokens  smallest L
   * @param maxNewTokens  largest L; L is uniform in {@code [minNewTokens, maxNewTokens]}
   */
  public static IterationPlan of(long runSeed, long k, RoleSchedule schedule, int minNewTokens, int maxNewTokens) {
    if (minNewTokens < 1 || maxNewTokens < minNewTokens) {
      throw new IllegalArgumentException("need 1 <= minNewTokens <= maxNewTokens, got " + minNewTokens + ", "
          + maxNewTokens);
    }
    long iterationSeed = CounterRng.deriveSeed(runSeed, k);
    int span = maxNewTokens - minNewTokens + 1;
    int length = minNewTokens + (int) Math.floor(CounterRng.uniform(iterationSeed, STREAM_LENGTH, 0) * span);
    return new IterationPlan(k, schedule.pioneerAt(k), Math.min(length, maxNewTokens), schedule.exchangesAfter(k),
        CounterRng.deriveSeed(iterationSeed, STREAM_PIONEER_ROLLOUT),
        CounterRng.deriveSeed(iterationSeed, STREAM_OBSERVER_ROLLOUT),
        CounterRng.deriveSeed(iterationSeed, STREAM_PIONEER_SHUFFLE),
        CounterRng.deriveSeed(iterationSeed, STREAM_OBSERVER_SHUFFLE));
  }

  /** The observer of iteration k. */
  public AgentId observer() {
    return pioneer.other();
  }

  /** Rollout seed of {@code role}. */
  public long rolloutSeed(Role role) {
    return role == Role.PIONEER ? pioneerRolloutSeed : observerRolloutSeed;
  }

  /** Shuffle seed of {@code role}. */
  public long shuffleSeed(Role role) {
    return role == Role.PIONEER ? pioneerShuffleSeed : observerShuffleSeed;
  }
}
