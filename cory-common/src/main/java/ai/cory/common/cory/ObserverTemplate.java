package ai.cory.common.cory;

import ai.cory.common.task.Gsm8kPrompts;
import java.util.Objects;

/**
 * Builds the observer's prompt from the task query and the pioneer's response (CORY.md
 * section 2 step 4, section 5): a string with {@code {query}} and {@code {response}}
 * placeholders, substituted in one pass (a query or response that itself contains a
 * placeholder is inserted verbatim). Any other text, braces included, is literal. A template
 * without {@code {response}} gives the "CORY without knowledge transfer" ablation.
 *
 * @param template the pattern
 */
public record ObserverTemplate(String template) {
  /** Placeholder of the task query. */
  public static final String QUERY = "{query}";
  /** Placeholder of the pioneer's response. */
  public static final String RESPONSE = "{response}";

  /** IMDB (CORY.md section 5). */
  public static final ObserverTemplate IMDB =
      new ObserverTemplate("I can make this sentence \"{query}{response}\" more positive: {query}");

  /**
   * GSM8K: the pioneer's one-shot prompt with {@code \nReference: {response}} inserted before
   * its final {@code \nAnswer:} (CORY.md section 5).
   */
  public static final ObserverTemplate GSM8K = withReference(Gsm8kPrompts.PIONEER_TEMPLATE);

  /** The observer sees only the query ({@code {query}}): no knowledge transfer. */
  public static final ObserverTemplate QUERY_ONLY = new ObserverTemplate(QUERY);

  public ObserverTemplate {
    Objects.requireNonNull(template, "template");
    if (!template.contains(QUERY) && !template.contains(RESPONSE)) {
      throw new IllegalArgumentException("observer template uses neither " + QUERY + " nor "
          + RESPONSE + ": '" + template + "'");
    }
  }

  /**
   * The observer template for a pioneer template ending in {@code \nAnswer:}: the reference
   * line inserted before the last {@code \nAnswer:}.
   */
  public static ObserverTemplate withReference(String pioneerTemplate) {
    String answer = "\nAnswer:";
    int at = pioneerTemplate.lastIndexOf(answer);
    if (at < 0) {
      throw new IllegalArgumentException("pioneer template has no '\\nAnswer:' to insert the "
          + "reference before: '" + pioneerTemplate + "'");
    }
    return new ObserverTemplate(
        pioneerTemplate.substring(0, at) + "\nReference: " + RESPONSE + pioneerTemplate.substring(at));
  }

  /** True when the observer sees the pioneer's response. */
  public boolean transfersKnowledge() {
    return template.contains(RESPONSE);
  }

  /** The observer prompt for {@code query} and the pioneer's {@code response}. */
  public String render(String query, String response) {
    StringBuilder out = new StringBuilder(template.length() + 2 * query.length() + response.length());
    int i = 0;
    while (i < template.length()) {
      if (template.startsWith(QUERY, i)) {
        out.append(query);
        i += QUERY.length();
      } else if (template.startsWith(RESPONSE, i)) {
        out.append(response);
        i += RESPONSE.length();
      } else {
        out.append(template.charAt(i++));
      }
    }
    return out.toString();
  }
}
