package ai.cory.common.checkpoint;

import ai.cory.common.io.FileSource;
import ai.cory.common.model.Parameters;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What one checkpoint holds, as the trainer hands it to the writer. The arrays are read while
 * the checkpoint is written and must not change until the write returns; nothing is copied.
 *
 * @param state          the small trainer state ({@code state.json})
 * @param resolvedConfig the run's resolved configuration text, HOCON or JSON ({@code config.conf})
 * @param agents         each agent's weights (with value head), by agent id ({@code "A"}, {@code "B"})
 * @param buffers        other named float buffers (optimizer moments {@code "A/adam.m"}, ...),
 *                       FLOAT or DOUBLE, any shape; stored losslessly in their own type
 */
public record CheckpointContents(CheckpointState state, String resolvedConfig,
    Map<String, AgentSnapshot> agents, Map<String, INDArray> buffers) {

  /**
   * One agent.
   *
   * @param weights    the agent's flat parameter buffer: language model and value head
   * @param companions the source model directory whose tokenizer and generation files
   *                   ({@link ai.cory.common.model.HfExport#COMPANIONS}) are copied beside the weights, so
   *                   that an exported agent is a complete Hugging Face model; null for none
   */
  public record AgentSnapshot(Parameters weights, FileSource companions) {
    public AgentSnapshot {
      Objects.requireNonNull(weights, "weights");
    }
  }

  public CheckpointContents {
    Objects.requireNonNull(state, "state");
    Objects.requireNonNull(resolvedConfig, "resolvedConfig");
    if (agents == null || agents.isEmpty()) {
      throw new IllegalArgumentException("a checkpoint needs at least one agent");
    }
    TreeMap<String, AgentSnapshot> sortedAgents = new TreeMap<>();
    agents.forEach((id, snapshot) -> {
      CheckpointLayout.agentDir(id); // validates the id
      sortedAgents.put(id, Objects.requireNonNull(snapshot, "agent " + id));
    });
    agents = Collections.unmodifiableSortedMap(sortedAgents);
    buffers = checkedBuffers(buffers == null ? Map.of() : buffers);
  }

  private static SortedMap<String, INDArray> checkedBuffers(Map<String, INDArray> buffers) {
    TreeMap<String, INDArray> sorted = new TreeMap<>();
    buffers.forEach((name, a) -> {
      if (name == null || name.isEmpty() || name.equals("__metadata__")) {
        throw new IllegalArgumentException("invalid buffer name '" + name + "'");
      }
      Objects.requireNonNull(a, "buffer " + name);
      if (!a.dataType().isFPType()) {
        throw new IllegalArgumentException("buffer " + name + " must be a float array, got "
            + a.dataType());
      }
      sorted.put(name, a);
    });
    return Collections.unmodifiableSortedMap(sorted);
  }
}
