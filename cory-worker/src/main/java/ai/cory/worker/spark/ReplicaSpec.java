package ai.cory.worker.spark;

import ai.cory.common.config.RuntimeSettings;
import ai.cory.common.config.Settings;
import ai.cory.common.config.RuntimeSettings.Transport;
import java.io.Serializable;
import java.util.Objects;

/**
 * What an executor needs to build (or find) its resident replica of a run: the validated
 * settings and the data-plane choices the driver resolved for this cluster. Small and
 * Serializable; the model itself is read by each executor from {@code cory.model.path}.
 *
 * @param runId       unique id of the run (a replica serves one run)
 * @param settings    the run's validated settings
 * @param transport   the resolved Aeron transport (the driver turns {@code auto} into IPC for
 *                    local masters, UDP otherwise)
 * @param bindAddress address a UDP endpoint binds and advertises, or null for the executor host
 * @param resumeFrom  the committed checkpoint a new replica starts from (its location URI), or
 *                    null to start from the pretrained model
 */
public record ReplicaSpec(String runId, Settings settings, Transport transport, String bindAddress,
    String resumeFrom) implements Serializable {
  private static final long serialVersionUID = 1L;

  public ReplicaSpec {
    Objects.requireNonNull(runId, "runId");
    Objects.requireNonNull(settings, "settings");
    Objects.requireNonNull(transport, "transport");
  }

  /** W. */
  public int workers() {
    return settings.runtime().workers();
  }

  /** The run's runtime settings. */
  public RuntimeSettings runtime() {
    return settings.runtime();
  }
}
