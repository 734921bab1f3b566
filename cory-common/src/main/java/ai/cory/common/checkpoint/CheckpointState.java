package ai.cory.common.checkpoint;

import ai.cory.common.ppo.RunningMoments;
import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.io.IOException;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * The trainer's small state at a checkpoint, stored as {@code state.json}; the large state
 * (weights, optimizer moments) goes to safetensors files beside it. Immutable; maps are copied
 * into key order.
 *
 * <p>No data position is stored: the prompts of iteration k are a pure function of (seed, k)
 * ({@code QueryBatches}), so {@code iteration} says where the data stands. Checkpoints written
 * before this was noticed carry a {@code "data"} object, which is read and ignored.
 *
 * @param iteration iterations completed; the resumed run continues with this (0-based) iteration
 * @param roles     role of each agent id at {@code iteration} ({@code {"A": "pioneer", "B":
 *                  "observer"}})
 * @param agents    per-agent scalars, by agent id
 * @param rng       named random-generator state words (seeds, counters)
 * @param extra     anything else the trainer wants back, as text
 */
@JsonIgnoreProperties({"data"})
public record CheckpointState(
    @JsonProperty("iteration") long iteration,
    @JsonProperty("roles") Map<String, String> roles,
    @JsonProperty("agents") Map<String, AgentState> agents,
    @JsonProperty("rng") Map<String, Long> rng,
    @JsonProperty("extra") Map<String, String> extra) {

  public CheckpointState {
    if (iteration < 0) {
      throw new IllegalArgumentException("iteration must be >= 0, got " + iteration);
    }
    roles = sorted(roles, "roles");
    agents = sorted(agents, "agents");
    rng = sorted(rng, "rng");
    extra = sorted(extra, "extra");
  }

  /**
   * One agent's scalars.
   *
   * @param optimizerSteps Adam steps taken (the bias-correction counter t)
   * @param klCoef         the KL controller's current coefficient beta
   * @param scoreMoments   running moments of the raw scores (score scaling)
   * @param scalars        any other named numbers
   */
  public record AgentState(
      @JsonProperty("optimizer_steps") long optimizerSteps,
      @JsonProperty("kl_coef") double klCoef,
      @JsonProperty("score_moments") RunningMoments scoreMoments,
      @JsonProperty("scalars") Map<String, Double> scalars) {

    public AgentState {
      if (optimizerSteps < 0) {
        throw new IllegalArgumentException("optimizerSteps must be >= 0, got " + optimizerSteps);
      }
      Objects.requireNonNull(scoreMoments, "scoreMoments");
      scalars = sorted(scalars, "scalars");
    }
  }

  /** The {@code state.json} bytes. */
  public byte[] toJson() {
    return CheckpointJson.write(this);
  }

  /**
   * Parses {@code state.json}.
   *
   * @param where the file, for messages
   */
  public static CheckpointState fromJson(byte[] json, String where) throws IOException {
    return CheckpointJson.read(json, CheckpointState.class, where);
  }

  /** A null map is empty; keys and values must not be null. */
  private static <V> SortedMap<String, V> sorted(Map<String, V> map, String what) {
    if (map == null) {
      return Collections.emptySortedMap();
    }
    TreeMap<String, V> copy = new TreeMap<>();
    for (Map.Entry<String, V> e : map.entrySet()) {
      if (e.getKey() == null || e.getValue() == null) {
        throw new IllegalArgumentException(what + " must not hold null keys or values, got "
            + e.getKey() + " -> " + e.getValue());
      }
      copy.put(e.getKey(), e.getValue());
    }
    return Collections.unmodifiableSortedMap(copy);
  }
}
