package ai.cory.common.io;

import java.util.regex.Pattern;

/**
 * Removes credentials from text that may name a location: the user-info part of a URI
 * ({@code s3a://ACCESS:SECRET@bucket/x} becomes {@code s3a://***@bucket/x}). Used for every
 * error line the CLI prints, the resolved settings kept in the run directory and in checkpoints,
 * and (as the same pattern in {@code conf/log4j2.properties}) every log line.
 */
public final class Redaction {
  /** A URI's scheme and user info, up to the {@code @} before the host. */
  public static final Pattern USER_INFO = Pattern.compile("(\\b[A-Za-z][A-Za-z0-9+.-]*://)[^/@\\s\"'<>]+@");

  private Redaction() {}

  /** {@code text} with the user info of every URI in it replaced by {@code ***}; null stays null. */
  public static String redact(String text) {
    return text == null ? null : USER_INFO.matcher(text).replaceAll("$1***@");
  }
}
