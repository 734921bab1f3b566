package ai.cory.common.reward;

import ai.cory.common.io.FileSource;
import ai.cory.common.io.FileSourceResolver.FileLocation;
import com.typesafe.config.Config;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Positive-class logit of a bag-of-words logistic regression on {@code query + response}
 * (the offline stand-in for {@code lvwerra/distilbert-imdb}; CORY.md section 5). Format and
 * scoring follow {@code shared/assets/rewards/README.md}: UTF-8, first line
 * {@code #bias<TAB>b}, then one {@code word<TAB>weight} per line; the text is lowercased,
 * {@code <br />} becomes a space, the tokens are the matches of {@code [a-z0-9']+}, each
 * DISTINCT token counts once, and {@code logit = b + sum of the weights of the tokens present}.
 *
 * <p>Config ({@link RewardFactory} alias {@code bow-sentiment}): {@code path} = the weights
 * file (local path or any URI the {@link RewardContext} resolves). Immutable, thread-safe.
 */
public final class BagOfWordsSentimentReward implements RewardFunction {
  /** Config key of the weights file. */
  public static final String PATH_KEY = "path";

  private static final String BIAS_TAG = "#bias";
  private static final Pattern TOKEN = Pattern.compile("[a-z0-9']+");

  private final double bias;
  private final Map<String, Double> weights;

  /** A classifier from its parameters (copied). */
  public BagOfWordsSentimentReward(double bias, Map<String, Double> weights) {
    if (!Double.isFinite(bias)) {
      throw new IllegalArgumentException("bias must be finite, got " + bias);
    }
    this.bias = bias;
    this.weights = Map.copyOf(weights);
  }

  /** From config: reads the file named by {@code path}, resolved by {@code context}. */
  public BagOfWordsSentimentReward(Config config, RewardContext context) {
    this(loadFrom(config, context));
  }

  private BagOfWordsSentimentReward(BagOfWordsSentimentReward loaded) {
    this.bias = loaded.bias;
    this.weights = loaded.weights;
  }

  /** Reads {@code name} of {@code dir}. */
  public static BagOfWordsSentimentReward load(FileSource dir, String name) throws IOException {
    try (InputStream in = dir.open(name, 0)) {
      return load(in, dir.describe(name));
    }
  }

  /**
   * Reads the TSV format from {@code in} (not closed).
   *
   * @param description the file's location, for error messages
   * @throws IOException naming {@code description} and the line number of a malformed line
   */
  public static BagOfWordsSentimentReward load(InputStream in, String description) throws IOException {
    byte[] bytes = in.readAllBytes();
    List<String> lines = utf8Lines(bytes, description);
    String header = lines.isEmpty() ? null : lines.get(0);
    if (header != null && header.startsWith("\uFEFF")) {
      header = header.substring(1);
    }
    if (header == null || !header.startsWith(BIAS_TAG + "\t")) {
      throw new IOException(description + ": line 1 must be '#bias<TAB>value', got "
          + (header == null ? "an empty file" : "'" + abbreviate(header) + "'"));
    }
    double bias = parseWeight(header.substring(BIAS_TAG.length() + 1), description, 1, header);
    Map<String, Double> weights = new HashMap<>();
    Map<String, Integer> lineOf = new HashMap<>();
    for (int i = 1; i < lines.size(); i++) {
      String line = lines.get(i);
      int lineNumber = i + 1;
      int tab = line.indexOf('\t');
      if (tab <= 0 || line.indexOf('\t', tab + 1) >= 0) {
        throw new IOException(description + ": line " + lineNumber
            + ": expected 'word<TAB>weight', got '" + abbreviate(line) + "'");
      }
      String word = line.substring(0, tab);
      double weight = parseWeight(line.substring(tab + 1), description, lineNumber, line);
      Integer previous = lineOf.putIfAbsent(word, lineNumber);
      if (previous != null) {
        throw new IOException(description + ": line " + lineNumber + ": word '" + word
            + "' already defined on line " + previous);
      }
      weights.put(word, weight);
    }
    return new BagOfWordsSentimentReward(bias, weights);
  }

  /**
   * Splits on '\n' (a final newline ends the last line, a trailing '\r' is dropped) and decodes
   * each line as strict UTF-8, so an encoding error is reported with its line number.
   */
  private static List<String> utf8Lines(byte[] bytes, String description) throws IOException {
    CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT)
        .onUnmappableCharacter(CodingErrorAction.REPORT);
    List<String> lines = new ArrayList<>();
    int start = 0;
    while (start < bytes.length) {
      int end = start;
      while (end < bytes.length && bytes[end] != '\n') {
        end++;
      }
      int stop = end > start && bytes[end - 1] == '\r' ? end - 1 : end;
      try {
        lines.add(decoder.decode(ByteBuffer.wrap(bytes, start, stop - start)).toString());
      } catch (CharacterCodingException e) {
        throw new IOException(description + ": line " + (lines.size() + 1) + ": not UTF-8", e);
      }
      start = end + 1;
    }
    return lines;
  }

  @Override
  public double[] score(List<RewardInput> items) {
    double[] scores = new double[items.size()];
    for (int i = 0; i < scores.length; i++) {
      RewardInput item = items.get(i);
      scores[i] = logit(item.query() + item.response());
    }
    return scores;
  }

  /** The positive-class logit of {@code text}. */
  public double logit(String text) {
    String normalised = text.toLowerCase(Locale.ROOT).replace("<br />", " ");
    Set<String> distinct = new LinkedHashSet<>();
    Matcher m = TOKEN.matcher(normalised);
    while (m.find()) {
      distinct.add(m.group());
    }
    double logit = bias;
    for (String token : distinct) {
      logit += weights.getOrDefault(token, 0.0);
    }
    return logit;
  }

  public double bias() {
    return bias;
  }

  /** Number of words with a weight. */
  public int vocabularySize() {
    return weights.size();
  }

  private static BagOfWordsSentimentReward loadFrom(Config config, RewardContext context) {
    String path = config.getString(PATH_KEY);
    try {
      FileLocation file = context.files().file(path);
      return load(file.directory(), file.name());
    } catch (IOException e) {
      throw new UncheckedIOException("bag-of-words reward: cannot read " + PATH_KEY + " = '"
          + path + "': " + e.getMessage(), e);
    }
  }

  private static double parseWeight(String text, String description, int lineNumber, String line)
      throws IOException {
    try {
      double value = Double.parseDouble(text);
      if (Double.isFinite(value)) {
        return value;
      }
    } catch (NumberFormatException e) {
      // reported below with the location
    }
    throw new IOException(description + ": line " + lineNumber + ": weight '" + abbreviate(text)
        + "' is not a finite number (line '" + abbreviate(line) + "')");
  }

  private static String abbreviate(String s) {
    return s.length() <= 80 ? s : s.substring(0, 77) + "...";
  }
}
