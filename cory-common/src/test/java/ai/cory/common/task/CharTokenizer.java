package ai.cory.common.task;

import ai.cory.common.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * Test tokenizer with known, trivially checkable ids: one token per UTF-16 char (id = char
 * value); with special tokens a BOS (id 65536) first. Stands in until the real HfTokenizer is
 * on main: it checks the deterministic parts (lengths, seeds, filters), not BPE.
 */
final class CharTokenizer implements Tokenizer {
  static final int BOS = 65536;
  int encodeCalls;

  @Override
  public int[] encode(String text, boolean addSpecialTokens) {
    encodeCalls++;
    int offset = addSpecialTokens ? 1 : 0;
    int[] ids = new int[text.length() + offset];
    if (addSpecialTokens) {
      ids[0] = BOS;
    }
    for (int i = 0; i < text.length(); i++) {
      ids[i + offset] = text.charAt(i);
    }
    return ids;
  }

  @Override
  public List<int[]> encodeBatch(List<String> texts, boolean addSpecialTokens) {
    List<int[]> out = new ArrayList<>();
    for (String t : texts) {
      out.add(encode(t, addSpecialTokens));
    }
    return out;
  }

  @Override
  public String decode(int[] ids, boolean skipSpecialTokens) {
    StringBuilder sb = new StringBuilder();
    for (int id : ids) {
      if (id == BOS) {
        if (!skipSpecialTokens) {
          sb.append("<s>");
        }
      } else {
        sb.append((char) id);
      }
    }
    return sb.toString();
  }

  @Override
  public int vocabSize() {
    return BOS + 1;
  }

  @Override
  public int bosId() {
    return BOS;
  }

  @Override
  public int eosId() {
    return -1;
  }

  @Override
  public int padId() {
    return -1;
  }
}
