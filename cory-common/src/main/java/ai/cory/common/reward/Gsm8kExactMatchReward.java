package ai.cory.common.reward;

import com.typesafe.config.Config;
import java.math.BigDecimal;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * GSM8K objective reward (CORY.md section 5): 1 if the last number in the response equals the
 * ground truth, else 0. The ground truth is either the bare final answer or a full GSM8K
 * answer, whose final answer follows {@code ####}.
 *
 * <p>A number is an optional minus sign (not when glued to a preceding digit, so {@code 5-3}
 * holds 5 and 3), an optional {@code $}, digits with optional thousands commas
 * ({@code 1,000}), an optional decimal part ({@code 18.0}; a trailing full stop is
 * punctuation). Numbers compare by value, so {@code 18.0 == 18} and {@code -0 == 0}.
 * Immutable, thread-safe; alias {@code gsm8k-exact-match} (no config keys).
 */
public final class Gsm8kExactMatchReward implements RewardFunction {
  /** The marker before the final answer in GSM8K's {@code answer} field. */
  public static final String ANSWER_MARKER = "####";

  /** Sign, currency, integer part with or without thousands commas, decimals; or ".5". */
  private static final Pattern NUMBER = Pattern.compile(
      "(?<![\\d.])(-?)\\$?(?:((?:\\d{1,3}(?:,\\d{3})+(?!\\d))|\\d+)(\\.\\d+)?|(\\.\\d+))");

  public Gsm8kExactMatchReward() {}

  /** Config constructor for {@link RewardFactory} (no keys are read). */
  public Gsm8kExactMatchReward(Config config) {
    this();
  }

  @Override
  public double[] score(List<RewardInput> items) {
    double[] scores = new double[items.size()];
    for (int i = 0; i < scores.length; i++) {
      RewardInput item = items.get(i);
      if (!item.hasGroundTruth()) {
        throw new IllegalArgumentException("gsm8k exact match: item " + i + " has no ground truth");
      }
      BigDecimal truth = groundTruth(item.groundTruth());
      BigDecimal answer = lastNumber(item.response());
      scores[i] = answer != null && answer.compareTo(truth) == 0 ? 1.0 : 0.0;
    }
    return scores;
  }

  /**
   * The final answer of a GSM8K {@code answer} field (the number after {@code ####}), or of a
   * bare answer such as {@code "72"}.
   *
   * @throws IllegalArgumentException when there is no number where the answer should be
   */
  public static BigDecimal groundTruth(String answer) {
    int marker = answer.lastIndexOf(ANSWER_MARKER);
    String tail = marker >= 0 ? answer.substring(marker + ANSWER_MARKER.length()) : answer;
    BigDecimal value = lastNumber(tail);
    if (value == null) {
      throw new IllegalArgumentException("gsm8k ground truth holds no number"
          + (marker >= 0 ? " after '" + ANSWER_MARKER + "'" : "") + ": '" + abbreviate(answer) + "'");
    }
    return value;
  }

  /** The value of the last number in {@code text}, or null when it holds none. */
  public static BigDecimal lastNumber(String text) {
    Matcher m = NUMBER.matcher(text);
    String last = null;
    while (m.find()) {
      String integer = m.group(2) != null ? m.group(2).replace(",", "") : "0";
      String fraction = m.group(3) != null ? m.group(3) : m.group(4) != null ? m.group(4) : "";
      last = m.group(1) + integer + fraction;
    }
    return last == null ? null : new BigDecimal(last);
  }

  private static String abbreviate(String s) {
    return s.length() <= 80 ? s : s.substring(0, 77) + "...";
  }
}
