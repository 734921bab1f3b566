package ai.cory.common.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Byte-level tokenizer of the self-contained demo model: ids 0..255 are the UTF-8 bytes,
 * {@value #BOS} is {@code <s>} and {@value #EOS} is {@code </s>}. Lossless for any text, needs
 * no vocabulary file, so the demo runs on a machine without any model assets.
 */
public final class ByteTokenizer implements Tokenizer {
  /** Beginning of sequence. */
  public static final int BOS = 256;
  /** End of sequence (also the pad id). */
  public static final int EOS = 257;
  /** 256 bytes + BOS + EOS. */
  public static final int VOCAB_SIZE = 258;

  @Override
  public int[] encode(String text, boolean addSpecialTokens) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    int offset = addSpecialTokens ? 1 : 0;
    int[] ids = new int[bytes.length + offset];
    if (addSpecialTokens) {
      ids[0] = BOS;
    }
    for (int i = 0; i < bytes.length; i++) {
      ids[i + offset] = bytes[i] & 0xFF;
    }
    return ids;
  }

  @Override
  public List<int[]> encodeBatch(List<String> texts, boolean addSpecialTokens) {
    List<int[]> out = new ArrayList<>(texts.size());
    for (String t : texts) {
      out.add(encode(t, addSpecialTokens));
    }
    return out;
  }

  @Override
  public String decode(int[] ids, boolean skipSpecialTokens) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(ids.length);
    StringBuilder out = new StringBuilder();
    for (int id : ids) {
      if (id >= 0 && id < 256) {
        bytes.write(id);
        continue;
      }
      out.append(bytes.toString(StandardCharsets.UTF_8));
      bytes.reset();
      if (!skipSpecialTokens) {
        out.append(id == BOS ? "<s>" : id == EOS ? "</s>" : "<" + id + ">");
      }
    }
    return out.append(bytes.toString(StandardCharsets.UTF_8)).toString();
  }

  @Override
  public int vocabSize() {
    return VOCAB_SIZE;
  }

  @Override
  public int bosId() {
    return BOS;
  }

  @Override
  public int eosId() {
    return EOS;
  }

  @Override
  public int padId() {
    return EOS;
  }
}
