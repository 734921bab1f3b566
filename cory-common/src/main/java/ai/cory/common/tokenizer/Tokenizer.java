package ai.cory.common.tokenizer;

import java.util.List;

/**
 * Text to token ids and back for one model family. Never truncates. Implementations are
 * thread-safe.
 */
public interface Tokenizer {

  /**
   * Encodes {@code text}; with {@code addSpecialTokens} the model's template is applied (Llama:
   * {@code <s>} first; GPT-2: nothing).
   */
  int[] encode(String text, boolean addSpecialTokens);

  /** Encodes many texts at once (same semantics as {@link #encode}). */
  List<int[]> encodeBatch(List<String> texts, boolean addSpecialTokens);

  /** Decodes ids to text; with {@code skipSpecialTokens} BOS/EOS/pad are dropped. */
  String decode(int[] ids, boolean skipSpecialTokens);

  /** Number of ids the tokenizer can produce (may be smaller than the model's vocab). */
  int vocabSize();

  /** Beginning-of-sequence id, or -1 when the family has none in use. */
  int bosId();

  /** End-of-sequence id, or -1 when none. */
  int eosId();

  /** Id used to pad batches (the pad token if defined, else EOS). */
  int padId();
}
