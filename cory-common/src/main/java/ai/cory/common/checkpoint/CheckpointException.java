package ai.cory.common.checkpoint;

import java.io.IOException;
import java.util.Locale;

/**
 * A checkpoint that must not be loaded: torn (never committed, or a file missing) or corrupt
 * (a checksum or size mismatch, an unreadable or inconsistent file). The message names the
 * checkpoint directory and the problem.
 */
public final class CheckpointException extends IOException {
  private static final long serialVersionUID = 1L;

  /** Why the checkpoint is unusable. */
  public enum Kind {
    /** Incomplete: no commit marker, or a listed file is missing. */
    TORN,
    /** Complete but wrong: checksum or size mismatch, unreadable or inconsistent content. */
    CORRUPT
  }

  private final Kind kind;
  private final String location;
  private final String problem;

  /**
   * @param location the checkpoint directory
   * @param problem  what is wrong, naming the file
   */
  public CheckpointException(Kind kind, String location, String problem, Throwable cause) {
    super("checkpoint " + location + " is " + kind.name().toLowerCase(Locale.ROOT) + ": "
        + problem, cause);
    this.kind = kind;
    this.location = location;
    this.problem = problem;
  }

  public CheckpointException(Kind kind, String location, String problem) {
    this(kind, location, problem, null);
  }

  public Kind kind() {
    return kind;
  }

  /** The checkpoint directory. */
  public String location() {
    return location;
  }

  /** What is wrong. */
  public String problem() {
    return problem;
  }
}
