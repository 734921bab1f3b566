package ai.cory.common.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class ByteTokenizerTest {
  private final ByteTokenizer tok = new ByteTokenizer();

  @Test
  void encodesUtf8BytesWithOptionalBos() {
    // "é" is C3 A9 in UTF-8.
    assertArrayEquals(new int[] {256, 0x61, 0xC3, 0xA9}, tok.encode("aé", true));
    assertArrayEquals(new int[] {0x61, 0xC3, 0xA9}, tok.encode("aé", false));
    assertArrayEquals(new int[] {256}, tok.encode("", true));
  }

  @Test
  void decodeRoundTripsAndRendersSpecials() {
    String text = "Once upon a time, 東京 🚀\n";
    assertEquals(text, tok.decode(tok.encode(text, true), true));
    assertEquals("<s>hi</s>", tok.decode(new int[] {256, 'h', 'i', 257}, false));
  }
}
