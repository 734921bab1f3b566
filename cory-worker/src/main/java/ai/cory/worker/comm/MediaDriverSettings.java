package ai.cory.worker.comm;

import io.aeron.driver.ThreadingMode;
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
    boolean embedded, String directory, ThreadingMode threadingMode, int termLengthBytes)
    implements Serializable {

  public MediaDriverSettings {
    Objects.requireNonNull(threadingMode, "threadingMode");
    if (!embedded && (directory == null || directory.isBlank())) {
      throw new IllegalArgumentException(
          "an external media driver needs its Aeron directory, got none");
    }
    if (threadingMode == ThreadingMode.INVOKER) {
      throw new IllegalArgumentException(
          "threadingMode INVOKER is not supported: use SHARED, SHARED_NETWORK or DEDICATED");
    }
    if (termLengthBytes < ChannelTuning.MIN_TERM_LENGTH_BYTES
        || termLengthBytes > ChannelTuning.MAX_TERM_LENGTH_BYTES
        || Integer.bitCount(termLengthBytes) != 1) {
      throw new IllegalArgumentException(
          "termLengthBytes must be a power of two in 64 KiB..1 GiB, got " + termLengthBytes);
    }
  }

  /** An embedded driver in a fresh directory with the given threading mode. */
  public static MediaDriverSettings embedded(final ThreadingMode threadingMode) {
    return new MediaDriverSettings(true, null, threadingMode, 16 * 1024 * 1024);
  }

  /** An external driver already running with this Aeron directory. */
  public static MediaDriverSettings external(final String directory) {
    return new MediaDriverSettings(false, directory, ThreadingMode.SHARED, 16 * 1024 * 1024);
  }
}
