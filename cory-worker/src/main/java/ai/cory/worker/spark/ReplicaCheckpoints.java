package ai.cory.worker.spark;

import ai.cory.common.checkpoint.Checkpoint;
import ai.cory.common.checkpoint.CheckpointContents.AgentSnapshot;
import ai.cory.common.checkpoint.CheckpointContents;
import ai.cory.common.checkpoint.CheckpointState.AgentState;
import ai.cory.common.checkpoint.CheckpointState;
import ai.cory.common.config.Settings;
import ai.cory.common.cory.AgentId;
import ai.cory.common.cory.Role;
import ai.cory.common.io.FileSource;
import ai.cory.worker.store.CheckpointStore;
import ai.cory.worker.store.PendingCheckpoint;
import ai.cory.worker.train.Agent;
import ai.cory.worker.train.CoryTrainer;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The executor's half of a checkpoint: {@link #write} (rank 0, inside the stage) and
 * {@link #restore} (a replica loading to resume). The driver's half, requesting, committing and
 * finding the checkpoint to resume from, is {@code RunCheckpoints}; the format is
 * {@code ai.cory.common.checkpoint}, the store's directories {@link CheckpointStore}.
 *
 * <p>What a replica's state is in that format: each agent's weights with value head, its Adam
 * moments as the buffer {@code <agent>/adam} ((1, 2P): m then v), and in {@code state.json} the
 * iterations completed, who holds which role next, each agent's Adam step count, KL coefficient
 * and running score moments. Everything random in a run, and the prompts of each iteration, are
 * pure functions of (seed, iteration), so no generator state or data position is needed to
 * continue identically.
 */
public final class ReplicaCheckpoints {
  /** The run seed, recorded to check that a resumed run continues the same random streams. */
  static final String SEED_KEY = "run.seed";
  /** With LoRA: the base's path, storage and CRC32C of its stored bytes. */
  static final String BASE_MODEL_KEY = "base.model";
  static final String BASE_DTYPE_KEY = "base.dtype";
  static final String BASE_CRC_KEY = "base.crc32c";

  private ReplicaCheckpoints() {}

  /**
   * Refuses to put a checkpoint's adapters on another base than the one they were trained on (or
   * a full fine-tuning checkpoint into a LoRA run, and the reverse), naming both.
   */
  private static void requireSameBase(CoryTrainer trainer, Settings settings, Checkpoint checkpoint) {
    Map<String, String> extra = checkpoint.state().extra();
    Long mine = trainer.baseFingerprint();
    String theirs = extra.get(BASE_CRC_KEY);
    if (mine == null && theirs == null) {
      return;
    }
    if (mine == null || theirs == null) {
      throw new IllegalStateException(checkpoint.location() + " was written by a "
          + (theirs == null ? "full fine-tuning" : "LoRA") + " run; this run "
          + (mine == null ? "fine-tunes every weight" : "trains LoRA adapters") + " (cory.model.lora.rank)");
    }
    if (!theirs.equals(Long.toHexString(mine))) {
      throw new IllegalStateException(checkpoint.location() + " holds adapters trained on the base "
          + extra.get(BASE_MODEL_KEY) + " stored as " + extra.get(BASE_DTYPE_KEY) + " (crc32c " + theirs
          + "); this run's base " + settings.model().path() + " as " + settings.model().baseDtype().key()
          + " has crc32c " + Long.toHexString(mine) + ": refusing to resume onto a different base");
    }
  }

  /** Buffer holding {@code agent}'s Adam moments. */
  static String adamBuffer(AgentId agent) {
    return agent.key() + "/adam";
  }

  /**
   * Writes {@code replica}'s state after its completed iteration into a temporary directory of
   * the request's store; the driver commits it once the stage succeeded.
   *
   * @param hadoop the executor's FileSystem configuration
   * @return the handle the driver commits
   */
  static PendingCheckpoint write(Replica replica, CheckpointRequest request, Configuration hadoop)
      throws IOException {
    CheckpointStore store = new CheckpointStore(request.store(), hadoop, request.keepLast());
    return store.write(contents(replica.trainer(), replica.spec().settings(), replica.completedIteration() + 1,
        replica.assets().model().files()));
  }

  /**
   * The contents of a checkpoint taken after {@code completed} iterations (the trainer's role
   * slots already exchanged for the next one).
   *
   * @param companions the pretrained model directory whose tokenizer files go beside each agent,
   *                   or null (a built-in model has none)
   */
  static CheckpointContents contents(CoryTrainer trainer, Settings settings, long completed,
      FileSource companions) {
    Map<String, String> roles = new LinkedHashMap<>();
    Map<String, AgentState> agents = new LinkedHashMap<>();
    Map<String, AgentSnapshot> weights = new LinkedHashMap<>();
    Map<String, INDArray> buffers = new LinkedHashMap<>();
    for (Agent agent : trainer.agents()) {
      String key = agent.id().key();
      roles.put(key, (agent.id() == trainer.pioneer() ? Role.PIONEER : Role.OBSERVER).key());
      agents.put(key, new AgentState(agent.optimizer().steps(), agent.kl().coef(), agent.scoreMoments(), Map.of()));
      weights.put(key, new AgentSnapshot(agent.policy().paramsToRead(), companions));
      buffers.put(adamBuffer(agent.id()), agent.optimizer().stateToRead());
    }
    Map<String, String> extra = new LinkedHashMap<>();
    Long base = trainer.baseFingerprint();
    if (base != null) { // LoRA: the adapters only make sense on this very base
      extra.put(BASE_MODEL_KEY, settings.model().path());
      extra.put(BASE_DTYPE_KEY, settings.model().baseDtype().key());
      extra.put(BASE_CRC_KEY, Long.toHexString(base));
    }
    CheckpointState state = new CheckpointState(completed, roles, agents, Map.of(SEED_KEY, settings.run().seed()),
        extra);
    return new CheckpointContents(state, settings.renderRedacted(), weights, buffers);
  }

  /**
   * Restores {@code trainer} to the state of {@code checkpoint}: weights, value heads, Adam
   * moments and steps, KL coefficients, score moments, role slots.
   *
   * @throws IOException           when a file cannot be read
   * @throws IllegalStateException when the checkpoint does not belong to this run's settings
   */
  static void restore(CoryTrainer trainer, Settings settings, Checkpoint checkpoint) throws IOException {
    CheckpointState state = checkpoint.state();
    Long seed = state.rng().get(SEED_KEY);
    if (seed == null || seed != settings.run().seed()) {
      throw new IllegalStateException(checkpoint.location() + " was written by a run with seed " + seed
          + ", this run has cory.run.seed = " + settings.run().seed());
    }
    requireSameBase(trainer, settings, checkpoint);
    AgentId pioneer = null;
    for (Agent agent : trainer.agents()) {
      String key = agent.id().key();
      AgentState s = state.agents().get(key);
      if (s == null || !checkpoint.agents().contains(key)) {
        throw new IllegalStateException(checkpoint.location() + " holds agents " + checkpoint.agents()
            + ", not agent " + key + " of this run");
      }
      checkpoint.readAgentInto(key, agent.policy().params());
      checkpoint.readBufferInto(adamBuffer(agent.id()), agent.optimizer().state());
      agent.restore(Math.toIntExact(s.optimizerSteps()), s.klCoef(), s.scoreMoments());
      if (Role.PIONEER.key().equals(state.roles().get(key))) {
        pioneer = agent.id();
      }
    }
    trainer.restorePioneer(pioneer != null ? pioneer : AgentId.A);
  }
}
