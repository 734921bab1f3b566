package ai.cory.common.task;

import ai.cory.common.io.FileSource;
import ai.cory.common.sampling.CounterRng;
import ai.cory.common.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * IMDB queries (CORY.md section 5): the first n tokens of a training review, n uniform in
 * {@code minTokens..maxTokens}. As in the reference code, the tokens are the first n ids of
 * the review's encoding (special tokens included: a Llama query starts with BOS) and the query
 * text is their decoding without special tokens: the text the reward and the observer template
 * see must not carry a literal {@code <s>}, which the observer prompt's encoding would turn
 * back into a BOS in mid-sequence (GPT-2 adds no special token, so there both are the same).
 *
 * <p>Deterministic: n of the review with index i is {@code minTokens + floor(u * (max - min +
 * 1))} with {@code u = CounterRng.uniform(seed, i, 0)}, so a query does not depend on which
 * other reviews are built, nor in what order.
 *
 * <p>Only a prefix of each review is encoded: it is cut at the first whitespace after
 * {@link #PREFIX_CHARS} characters, and its last {@link #GUARD_TOKENS} tokens are not used, so
 * a token the cut may have changed is never taken (GPT-2 and Llama BPE tokens never span
 * whitespace; checked on all 25,000 training reviews with both tokenizers). When the prefix
 * gives too few tokens, the whole review is encoded.
 */
public final class ImdbQueries {
  /** Characters of a review encoded before the whitespace cut. */
  public static final int PREFIX_CHARS = 256;
  /** Trailing tokens of the prefix encoding that are never used. */
  public static final int GUARD_TOKENS = 2;

  private final ImdbQueryConfig config;
  private final Tokenizer tokenizer;
  private final long seed;

  public ImdbQueries(ImdbQueryConfig config, Tokenizer tokenizer, long seed) {
    this.config = Objects.requireNonNull(config, "config");
    this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer");
    this.seed = seed;
  }

  /** Reviews of {@code name} in {@code dir} that pass the config's split and length filters. */
  public static List<String> readReviews(FileSource dir, String name, ImdbQueryConfig config)
      throws IOException {
    try (InputStream in = dir.open(name, 0)) {
      return readReviews(in, dir.describe(name), config);
    }
  }

  /**
   * Reviews of a JSONL stream (gzip allowed; not closed) that pass the filters, in file order.
   *
   * @throws IOException naming {@code description}: malformed line, missing field, or no review
   *     left after filtering
   */
  public static List<String> readReviews(InputStream in, String description, ImdbQueryConfig config)
      throws IOException {
    List<String> reviews = new ArrayList<>();
    int records = JsonlReader.read(in, description, record -> {
      if (config.split() != null && !config.split().equals(record.text(ImdbQueryConfig.SPLIT_FIELD))) {
        return;
      }
      String text = record.text(config.textField());
      if (!text.isEmpty() && text.codePointCount(0, text.length()) > config.minReviewChars()) {
        reviews.add(text);
      }
    });
    if (reviews.isEmpty()) {
      throw new IOException(description + ": no review left of " + records + " records"
          + (config.split() != null ? " in split '" + config.split() + "'" : "")
          + " longer than " + config.minReviewChars() + " characters");
    }
    return reviews;
  }

  /** Query length n of the review with index {@code index}. */
  public int queryLength(long index) {
    int span = config.maxTokens() - config.minTokens() + 1;
    return config.minTokens() + (int) (CounterRng.uniform(seed, index, 0) * span);
  }

  /**
   * The query of review {@code index}: its first n tokens (all of them when it has fewer, like
   * Python's {@code ids[:n]}).
   *
   * @throws IllegalArgumentException when the review encodes to no token at all
   */
  public TaskPrompt query(long index, String review) {
    int n = queryLength(index);
    int[] ids = firstTokens(review, n);
    if (ids.length == 0) {
      throw new IllegalArgumentException("imdb review " + index + " encodes to no token");
    }
    String text = tokenizer.decode(ids, true);
    return new TaskPrompt(index, text, text, ids, null);
  }

  /** Queries of every review, indexed by position in {@code reviews}. */
  public List<TaskPrompt> queries(List<String> reviews) {
    List<TaskPrompt> out = new ArrayList<>(reviews.size());
    for (int i = 0; i < reviews.size(); i++) {
      out.add(query(i, reviews.get(i)));
    }
    return out;
  }

  /** The first {@code n} ids of {@code encode(review)}, or all of them when it is shorter. */
  int[] firstTokens(String review, int n) {
    int cut = review.length();
    if (review.length() > PREFIX_CHARS) {
      cut = PREFIX_CHARS;
      while (cut < review.length() && !Character.isWhitespace(review.charAt(cut))) {
        cut++;
      }
    }
    if (cut < review.length()) {
      int[] prefixIds = tokenizer.encode(review.substring(0, cut), config.addSpecialTokens());
      if (prefixIds.length >= n + GUARD_TOKENS) {
        return Arrays.copyOf(prefixIds, n);
      }
    }
    int[] ids = tokenizer.encode(review, config.addSpecialTokens());
    return Arrays.copyOf(ids, Math.min(n, ids.length));
  }
}
