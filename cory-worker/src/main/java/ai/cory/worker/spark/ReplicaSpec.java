package ai.cory.worker.spark;

import ai.cory.common.config.RuntimeSettings.Transport;
import ai.cory.common.config.RuntimeSettings;
import ai.cory.common.config.Settings;
import java.io.Serializable;
import java.security.SecureRandom;
import java.util.HexFormat;
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
 * @param ringToken   the run's random secret for its Aeron rings ({@code RingConfig.runToken}):
 *                    it reaches executors through Spark (protect Spark's RPC with
 *                    {@code spark.authenticate} on shared clusters), never the data plane
 * @param frameKey    the run's random key for authenticated ring messages, hex, or null when
 *                    {@code cory.runtime.authenticate-frames} is off; travels like the token
 */
public record ReplicaSpec(String runId, Settings settings, Transport transport, String bindAddress,
    String resumeFrom, long ringToken, String frameKey) implements Serializable {
  private static final long serialVersionUID = 2L;
  private static final SecureRandom TOKENS = new SecureRandom();

  public ReplicaSpec {
    Objects.requireNonNull(runId, "runId");
    Objects.requireNonNull(settings, "settings");
    Objects.requireNonNull(transport, "transport");
  }

  /** A spec with a fresh random ring token. */
  public static ReplicaSpec withFreshToken(String runId, Settings settings, Transport transport, String bindAddress,
      String resumeFrom) {
    String key = null;
    if (settings.runtime().authenticateFrames()) {
      byte[] bytes = new byte[32];
      TOKENS.nextBytes(bytes);
      key = HexFormat.of().formatHex(bytes);
    }
    return new ReplicaSpec(runId, settings, transport, bindAddress, resumeFrom, TOKENS.nextLong(), key);
  }

  /**
   * The spec of the replicas after in-job recovery {@code generation}: a new run id, so that no
   * replica of the failed stage is reused, and every replica loads {@code resumeFrom} (null: the
   * pretrained model).
   */
  public ReplicaSpec recovered(int generation, String resumeFrom) {
    String root = runId.replaceFirst("/recovery-\\d+$", "");
    return new ReplicaSpec(root + "/recovery-" + generation, settings, transport, bindAddress, resumeFrom, ringToken,
        frameKey);
  }

  /** The frame key's bytes, or null. */
  public byte[] frameKeyBytes() {
    return frameKey == null ? null : HexFormat.of().parseHex(frameKey);
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
