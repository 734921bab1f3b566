package ai.cory.common.checkpoint;

import ai.cory.common.model.HfExport;
import ai.cory.common.model.PeftExport;
import java.util.List;
import java.util.OptionalLong;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * File and directory names of the checkpoint format (version {@value #FORMAT_VERSION}). A run
 * directory holds {@code checkpoints/}, which holds committed checkpoints {@code iter-000123/}
 * and in-flight writes {@code _tmp-123-<uuid>/}. One checkpoint directory:
 * <pre>
 *   _COMMITTED                      marker written by the driver after the rename (last)
 *   manifest.json                   every other file with size and checksum (written last by the writer)
 *   state.json                      {@link CheckpointState}
 *   config.conf                     the run's resolved configuration text
 *   buffers.safetensors             named trainer buffers (optimizer moments, ...)
 *   agent-A/                        the agent as a Hugging Face model directory, {@link HfExport}:
 *     config.json, model.safetensors (no value head), value_head.safetensors, tokenizer files
 * </pre>
 * The iteration in a directory name is the number of iterations completed: a run resumed from
 * {@code iter-000123} continues with iteration 123 (0-based).
 */
public final class CheckpointLayout {
  /** Version of this layout, recorded in every manifest. */
  public static final int FORMAT_VERSION = 1;
  /** Sub-directory of the run directory holding checkpoints. */
  public static final String CHECKPOINTS_DIR = "checkpoints";
  /** Commit marker. */
  public static final String MARKER = "_COMMITTED";
  /** Manifest: files, sizes, checksums. */
  public static final String MANIFEST = "manifest.json";
  /** Trainer state. */
  public static final String STATE = "state.json";
  /** Resolved configuration text (HOCON or JSON). */
  public static final String CONFIG = "config.conf";
  /** Named trainer buffers. */
  public static final String BUFFERS = "buffers.safetensors";
  /** An agent's language-model weights, HF names, without the value head ({@link HfExport}). */
  public static final String AGENT_MODEL = HfExport.MODEL_FILE;
  /** An agent's value head. */
  public static final String AGENT_VALUE_HEAD = HfExport.VALUE_HEAD_FILE;
  /** An agent's Hugging Face {@code config.json}. */
  public static final String AGENT_CONFIG = HfExport.CONFIG_FILE;
  /** A LoRA agent's adapters (instead of the model file), in PEFT's layout. */
  public static final String AGENT_ADAPTERS = PeftExport.ADAPTER_FILE;

  private static final Pattern AGENT_ID = Pattern.compile("[A-Za-z0-9_-]{1,64}");
  private static final Pattern COMMITTED_DIR = Pattern.compile("iter-(\\d{6,18})");
  private static final Pattern TMP_DIR = Pattern.compile("_tmp-(\\d{1,18})-[0-9a-f-]{36}");

  private CheckpointLayout() {}

  /** {@code iter-000123}: zero-padded so that names sort like iterations up to 999999. */
  public static String committedDirName(long iteration) {
    checkIteration(iteration);
    return String.format("iter-%06d", iteration);
  }

  /** {@code _tmp-123-<uuid>}. */
  public static String tmpDirName(long iteration, UUID uuid) {
    checkIteration(iteration);
    return "_tmp-" + iteration + "-" + uuid;
  }

  /** The iteration of a committed-checkpoint directory name, empty for any other name. */
  public static OptionalLong parseCommittedDir(String name) {
    Matcher m = COMMITTED_DIR.matcher(name);
    return m.matches() ? OptionalLong.of(Long.parseLong(m.group(1))) : OptionalLong.empty();
  }

  /** The iteration of a temporary directory name, empty for any other name. */
  public static OptionalLong parseTmpDir(String name) {
    Matcher m = TMP_DIR.matcher(name);
    return m.matches() ? OptionalLong.of(Long.parseLong(m.group(1))) : OptionalLong.empty();
  }

  /** {@code agent-<id>}, after checking the id is a safe directory-name fragment. */
  public static String agentDir(String agentId) {
    if (agentId == null || !AGENT_ID.matcher(agentId).matches()) {
      throw new IllegalArgumentException("agent id must match " + AGENT_ID.pattern() + ", got '"
          + agentId + "'");
    }
    return "agent-" + agentId;
  }

  /** {@code agent-<id>/<file>}. */
  public static String agentFile(String agentId, String file) {
    return agentDir(agentId) + "/" + file;
  }

  /**
   * The agent id of a path {@code agent-<id>/model.safetensors} (or, for a LoRA agent,
   * {@code adapter_model.safetensors}), or null for any other path.
   */
  static String agentOfModelFile(String path) {
    String suffix = path.endsWith("/" + AGENT_ADAPTERS) ? "/" + AGENT_ADAPTERS : "/" + AGENT_MODEL;
    if (!path.startsWith("agent-") || !path.endsWith(suffix)) {
      return null;
    }
    String id = path.substring("agent-".length(), path.length() - suffix.length());
    return AGENT_ID.matcher(id).matches() ? id : null;
  }

  private static void checkIteration(long iteration) {
    if (iteration < 0) {
      throw new IllegalArgumentException("iteration must be >= 0, got " + iteration);
    }
  }
}
