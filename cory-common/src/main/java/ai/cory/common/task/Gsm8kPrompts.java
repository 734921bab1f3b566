package ai.cory.common.task;

import ai.cory.common.io.FileSource;
import ai.cory.common.reward.Gsm8kExactMatchReward;
import ai.cory.common.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * GSM8K pioneer prompts (CORY.md section 5): the one-shot template around each question, the
 * final answer kept as ground truth for {@link Gsm8kExactMatchReward}. Records are JSONL
 * objects with string fields {@code question} and {@code answer} (GSM8K's solution ending in
 * {@code #### <final answer>}).
 */
public final class Gsm8kPrompts {
  /** Placeholder of the question in a pioneer template. */
  public static final String QUERY = "{query}";

  /**
   * CORY.md section 5, byte for byte (the exemplar is Wei et al.'s chain-of-thought one);
   * {@code {query}} is the question.
   */
  public static final String PIONEER_TEMPLATE = "Question: Shawn has five toys. For Christmas, he got"
      + " two toys each from his mom and dad. How many toys does he have now?\nAnswer: Shawn started"
      + " with 5 toys. If he got 2 toys each from his mom and dad, then that is 4 more toys."
      + " 5 + 4 = 9.\nQuestion: {query}\nAnswer:";

  /** Field of the question. */
  public static final String QUESTION_FIELD = "question";
  /** Field of the solution with its {@code ####} final answer. */
  public static final String ANSWER_FIELD = "answer";

  /** One GSM8K problem. */
  public record Example(String question, String finalAnswer) {
    public Example {
      Objects.requireNonNull(question, "question");
      Objects.requireNonNull(finalAnswer, "finalAnswer");
    }
  }

  private final String pioneerTemplate;
  private final Tokenizer tokenizer;
  private final boolean addSpecialTokens;

  /**
   * @param pioneerTemplate  prompt text with one or more {@code {query}} placeholders
   * @param tokenizer        the policy's tokenizer
   * @param addSpecialTokens encode with the tokenizer's template (Llama: {@code <s>} first)
   */
  public Gsm8kPrompts(String pioneerTemplate, Tokenizer tokenizer, boolean addSpecialTokens) {
    if (!pioneerTemplate.contains(QUERY)) {
      throw new IllegalArgumentException(
          "gsm8k pioneer template must contain " + QUERY + ": '" + pioneerTemplate + "'");
    }
    this.pioneerTemplate = pioneerTemplate;
    this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer");
    this.addSpecialTokens = addSpecialTokens;
  }

  /** The CORY.md template, special tokens added. */
  public Gsm8kPrompts(Tokenizer tokenizer) {
    this(PIONEER_TEMPLATE, tokenizer, true);
  }

  /** Examples of {@code name} in {@code dir}. */
  public static List<Example> read(FileSource dir, String name) throws IOException {
    try (InputStream in = dir.open(name, 0)) {
      return read(in, dir.describe(name));
    }
  }

  /**
   * Examples of a JSONL stream (gzip allowed; not closed), in file order.
   *
   * @throws IOException naming {@code description} and the line: malformed JSON, missing
   *     field, an answer without a {@code ####} final number; or an empty file
   */
  public static List<Example> read(InputStream in, String description) throws IOException {
    List<Example> examples = new ArrayList<>();
    JsonlReader.read(in, description, record -> {
      String question = record.text(QUESTION_FIELD);
      String answer = record.text(ANSWER_FIELD);
      int marker = answer.lastIndexOf(Gsm8kExactMatchReward.ANSWER_MARKER);
      String finalAnswer = marker < 0 ? "" : answer.substring(marker + Gsm8kExactMatchReward.ANSWER_MARKER.length()).trim();
      if (marker < 0 || Gsm8kExactMatchReward.lastNumber(finalAnswer) == null) {
        throw new IOException(record.where() + ": field '" + ANSWER_FIELD
            + "' has no final number after '" + Gsm8kExactMatchReward.ANSWER_MARKER + "'");
      }
      examples.add(new Example(question, finalAnswer));
    });
    return examples;
  }

  /** The pioneer prompt text of {@code question}. */
  public String render(String question) {
    return pioneerTemplate.replace(QUERY, question);
  }

  /** The prompt of example {@code index}. */
  public TaskPrompt prompt(long index, Example example) {
    String text = render(example.question());
    return new TaskPrompt(index, example.question(), text,
        tokenizer.encode(text, addSpecialTokens), example.finalAnswer());
  }

  /** Prompts of every example, indexed by position. */
  public List<TaskPrompt> prompts(List<Example> examples) {
    List<TaskPrompt> out = new ArrayList<>(examples.size());
    for (int i = 0; i < examples.size(); i++) {
      out.add(prompt(i, examples.get(i)));
    }
    return out;
  }
}
