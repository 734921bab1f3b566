package ai.cory.common.cory;

import java.util.Locale;

/** What an agent does in an iteration (CORY.md section 2). */
public enum Role {
  /** Answers the task query first: {@code a1 ~ pi(. | q)}. */
  PIONEER,
  /** Answers after seeing the pioneer's response: {@code a2 ~ pi(. | template(q, a1))}. */
  OBSERVER;

  /** Lower-case name used in metric keys. */
  public String key() {
    return name().toLowerCase(Locale.ROOT);
  }
}
