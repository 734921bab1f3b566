package ai.cory.common.tokenizer;

import ai.cory.common.io.FileSource;
import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A Hugging Face {@code tokenizer.json} (GPT-2 byte-level BPE, Llama SentencePiece BPE with byte
 * fallback, or anything else the Rust {@code tokenizers} library runs), through DJL's JNI binding
 * whose native library ships inside its jar: nothing is downloaded (checked with no network
 * at all); on first use DJL extracts {@code libtokenizers.so} to {@code
 * $DJL_CACHE_DIR/tokenizers/} (default {@code ~/.djl.ai}; set {@code DJL_CACHE_DIR} or {@code
 * ENGINE_CACHE_DIR} where the home directory is read-only, e.g. on executors). DJL's defaults are
 * overridden: no truncation (it truncates to 512 otherwise, STACK.md) and no padding; special
 * tokens are added per call by the tokenizer's own post-processor (Llama: {@code <s>} first;
 * GPT-2: none).
 *
 * <p>Special ids: BOS/EOS/pad tokens named in {@code tokenizer_config.json} (string or {@code
 * AddedToken} object), else {@code bos_token_id}/{@code eos_token_id} of {@code config.json},
 * else -1; pad is the pad token if one is defined, else EOS. Thread-safe (the Rust tokenizer is
 * immutable); {@link #close} frees the native handle.
 */
public final class HfTokenizer implements Tokenizer, AutoCloseable {
  /** The tokenizer definition. */
  public static final String TOKENIZER_FILE = "tokenizer.json";
  /** Optional transformers settings (special tokens). */
  public static final String TOKENIZER_CONFIG_FILE = "tokenizer_config.json";
  /** Optional model config (fallback for special-token ids). */
  public static final String MODEL_CONFIG_FILE = "config.json";

  private static final ObjectMapper JSON = new ObjectMapper();

  private final HuggingFaceTokenizer tokenizer;
  private final int vocabSize;
  private final int bosId;
  private final int eosId;
  private final int padId;

  private HfTokenizer(HuggingFaceTokenizer tokenizer, int vocabSize, int bosId, int eosId, int padId) {
    this.tokenizer = tokenizer;
    this.vocabSize = vocabSize;
    this.bosId = bosId;
    this.eosId = eosId;
    this.padId = padId;
  }

  /**
   * Loads {@code tokenizer.json} of {@code dir} (plus the optional configs for special ids).
   *
   * @throws FileNotFoundException when tokenizer.json is absent (naming its location)
   * @throws IOException           when a file is malformed or names an unknown special token
   */
  public static HfTokenizer load(FileSource dir) throws IOException {
    if (!dir.exists(TOKENIZER_FILE)) {
      throw new FileNotFoundException("missing tokenizer " + dir.describe(TOKENIZER_FILE));
    }
    byte[] definition;
    try (InputStream in = dir.open(TOKENIZER_FILE, 0)) {
      definition = in.readAllBytes();
    }
    Map<String, Integer> ids = tokenIds(readJson(dir, TOKENIZER_FILE, definition), dir.describe(TOKENIZER_FILE));
    int vocabSize = ids.values().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
    JsonNode tokenizerConfig = dir.exists(TOKENIZER_CONFIG_FILE)
        ? readJson(dir, TOKENIZER_CONFIG_FILE, readAll(dir, TOKENIZER_CONFIG_FILE)) : null;
    JsonNode modelConfig = dir.exists(MODEL_CONFIG_FILE)
        ? readJson(dir, MODEL_CONFIG_FILE, readAll(dir, MODEL_CONFIG_FILE)) : null;
    SpecialIds special = new SpecialIds(dir, ids, tokenizerConfig, modelConfig);
    int bos = special.id("bos_token", "bos_token_id");
    int eos = special.id("eos_token", "eos_token_id");
    int pad = special.id("pad_token", "pad_token_id");
    Map<String, String> options = new HashMap<>();
    options.put("truncation", "false");
    options.put("padding", "false");
    options.put("addSpecialTokens", "true");
    HuggingFaceTokenizer native_;
    try {
      native_ = HuggingFaceTokenizer.newInstance(new ByteArrayInputStream(definition), options);
    } catch (RuntimeException e) { // the Rust parser's error arrives as a RuntimeException
      throw new IOException(dir.describe(TOKENIZER_FILE) + ": cannot load tokenizer: "
          + e.getMessage(), e);
    }
    // the Rust side checks some of its configuration only when it encodes (an unk_token missing
    // from the vocabulary fails the first unknown character): find out now, naming the file
    try {
      native_.encode(PROBE_TEXT, true, false);
    } catch (RuntimeException e) {
      native_.close();
      throw new IOException(dir.describe(TOKENIZER_FILE) + ": cannot encode text: " + e.getMessage(), e);
    }
    return new HfTokenizer(native_, vocabSize, bos, eos, pad >= 0 ? pad : eos);
  }

  /** Encoded once at load: letters, digits, punctuation, whitespace, accents and a character no vocabulary has. */
  private static final String PROBE_TEXT = "The movie was great, 3 stars! Ça coûte 42 € \t\n\u2603\uD83D\uDE00 \u0000";

  /**
   * Every token string with its id: the model vocabulary plus the added tokens.
   *
   * @throws IOException naming the file and the entry when the vocabulary is not made of
   *                     (string, non-negative integer id) pairs
   */
  private static Map<String, Integer> tokenIds(JsonNode definition, String where) throws IOException {
    Map<String, Integer> ids = new HashMap<>();
    JsonNode vocab = definition.path("model").path("vocab");
    if (vocab.isObject()) { // BPE / WordPiece: {token: id}
      for (Map.Entry<String, JsonNode> e : (Iterable<Map.Entry<String, JsonNode>>) vocab::fields) {
        ids.put(e.getKey(), id(e.getValue(), where, "model.vocab[\"" + e.getKey() + "\"]"));
      }
    } else if (vocab.isArray()) { // Unigram: [[token, score], ...] in id order
      for (int i = 0; i < vocab.size(); i++) {
        JsonNode entry = vocab.get(i);
        if (!entry.isArray() || entry.size() < 1 || !entry.get(0).isTextual()) {
          throw new IOException(where + ": model.vocab[" + i + "] is not a [token, score] pair: " + entry);
        }
        ids.put(entry.get(0).asText(), i);
      }
    }
    int k = 0;
    for (JsonNode added : definition.path("added_tokens")) {
      if (!added.path("content").isTextual()) {
        throw new IOException(where + ": added_tokens[" + k + "] has no string content: " + added);
      }
      ids.put(added.get("content").asText(), id(added.path("id"), where, "added_tokens[" + k + "].id"));
      k++;
    }
    return ids;
  }

  private static int id(JsonNode value, String where, String what) throws IOException {
    if (!value.isIntegralNumber() || !value.canConvertToInt() || value.intValue() < 0) {
      throw new IOException(where + ": " + what + " must be a non-negative integer id, got " + value);
    }
    return value.intValue();
  }

  private static byte[] readAll(FileSource dir, String file) throws IOException {
    try (InputStream in = dir.open(file, 0)) {
      return in.readAllBytes();
    }
  }

  private static JsonNode readJson(FileSource dir, String file, byte[] bytes) throws IOException {
    try {
      JsonNode node = JSON.readTree(bytes);
      if (node == null || !node.isObject()) {
        throw new IOException(dir.describe(file) + ": expected a JSON object");
      }
      return node;
    } catch (JsonProcessingException e) {
      throw new IOException(dir.describe(file) + ": malformed JSON: " + e.getOriginalMessage(), e);
    }
  }

  /** Resolves special tokens: tokenizer_config.json token strings, then config.json ids. */
  private record SpecialIds(FileSource dir, Map<String, Integer> ids, JsonNode tokenizerConfig,
      JsonNode modelConfig) {
    int id(String tokenKey, String idKey) throws IOException {
      JsonNode token = tokenizerConfig == null ? null : tokenizerConfig.get(tokenKey);
      if (token != null && token.isObject()) { // {"__type": "AddedToken", "content": "<s>", ...}
        token = token.get("content");
      }
      if (token != null && token.isTextual()) {
        Integer id = ids.get(token.asText());
        if (id == null) {
          throw new IOException(dir.describe(TOKENIZER_CONFIG_FILE) + ": " + tokenKey + " '"
              + token.asText() + "' is not a token of " + dir.describe(TOKENIZER_FILE));
        }
        return id;
      }
      JsonNode id = modelConfig == null ? null : modelConfig.get(idKey);
      if (id != null && id.isArray() && id.size() > 0) { // several EOS ids: the first
        id = id.get(0);
      }
      return id != null && id.isIntegralNumber() ? id.intValue() : -1;
    }
  }

  @Override
  public int[] encode(String text, boolean addSpecialTokens) {
    return toInts(tokenizer.encode(text, addSpecialTokens, false));
  }

  /**
   * {@inheritDoc} Encodes one text after the other on the calling thread: the Rust batch call
   * would start a rayon thread pool competing with ND4J's OpenMP threads for the same cores
   * (STACK.md: oversubscription), for work that is microseconds per prompt.
   */
  @Override
  public List<int[]> encodeBatch(List<String> texts, boolean addSpecialTokens) {
    List<int[]> out = new ArrayList<>(texts.size());
    for (String text : texts) {
      out.add(encode(text, addSpecialTokens));
    }
    return out;
  }

  @Override
  public String decode(int[] ids, boolean skipSpecialTokens) {
    long[] longIds = new long[ids.length];
    for (int i = 0; i < ids.length; i++) {
      if (ids[i] < 0 || ids[i] >= vocabSize) {
        throw new IllegalArgumentException("token id " + ids[i] + " at position " + i
            + " is outside the vocabulary [0, " + vocabSize + ")");
      }
      longIds[i] = ids[i];
    }
    return tokenizer.decode(longIds, skipSpecialTokens);
  }

  private static int[] toInts(Encoding encoding) {
    long[] ids = encoding.getIds();
    int[] out = new int[ids.length];
    for (int i = 0; i < ids.length; i++) {
      out[i] = Math.toIntExact(ids[i]);
    }
    return out;
  }

  @Override
  public int vocabSize() {
    return vocabSize;
  }

  @Override
  public int bosId() {
    return bosId;
  }

  @Override
  public int eosId() {
    return eosId;
  }

  @Override
  public int padId() {
    return padId;
  }

  /** Frees the native tokenizer. */
  @Override
  public void close() {
    tokenizer.close();
  }
}
