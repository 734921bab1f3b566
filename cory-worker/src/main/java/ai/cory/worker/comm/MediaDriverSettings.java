package ai.cory.worker.comm;

import java.io.Serializable;
import java.util.Objects;

/**
 * Which Aeron media driver the workers of a JVM use.
 *
 * @param embedded true: this JVM launches one driver shared by all its workers; false: attach to an
 *     already running external driver in {@code directory}
 * @param directory the Aeron directory. Embedded: null picks a fresh unique one under /dev/shm when
 *     it exists (Linux; memory-backed like Aeron's own default) else java.io.tmpdir. External:
 *     required. In Kubernetes /dev/shm is 64 MB unless a memory emptyDir is mounted: each
 *     publication maps 3 terms
 * @param threadingMode embedded driver threads: SHARED (one thread; best when cores are scarce),
 *     SHARED_NETWORK (two) or DEDICATED (three: conductor, sender, receiver)
 * @param termLengthBytes embedded driver's default term length for publications that do not set one
 *     in their channel (the ring sets its own, {@link ChannelTuning})
 */
public record MediaDriverSettings(
    boolean embedded, String directory, Threading threadingMode, int termLengthBytes)
    implements Serializable {

  /** Threads of an embedded media driver (Aeron's {@code ThreadingMode} without INVOKER). */
  public enum Threading {
    /** One thread for conductor, sender and receiver: best when cores are scarce. */
    SHARED,
    /** Conductor on one thread, sender and receiver on another. */
    SHARED_NETWORK,
    /** Conductor, sender and receiver on three threads. */
    DEDICATED
  }

  public MediaDriverSettings {
    Objects.requireNonNull(threadingMode, "threadingMode");
    if (!embedded && (directory == null || directory.isBlank())) {
      throw new IllegalArgumentException(
          "an external media driver needs its Aeron directory, got none");
    }
    if (termLengthBytes < ChannelTuning.MIN_TERM_LENGTH_BYTES
        || termLengthBytes > ChannelTuning.MAX_TERM_LENGTH_BYTES
        || Integer.bitCount(termLengthBytes) != 1) {
      throw new IllegalArgumentException(
          "termLengthBytes must be a power of two in 64 KiB..1 GiB, got " + termLengthBytes);
    }
  }

  /** An embedded driver in a fresh directory with the given threading mode. */
  public static MediaDriverSettings embedded(final Threading threadingMode) {
    return new MediaDriverSettings(true, null, threadingMode, 16 * 1024 * 1024);
  }

  /** An external driver already running with this Aeron directory. */
  public static MediaDriverSettings external(final String directory) {
    return new MediaDriverSettings(false, directory, Threading.SHARED, 16 * 1024 * 1024);
  }
}
