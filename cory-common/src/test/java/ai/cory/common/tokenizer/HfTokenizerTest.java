package ai.cory.common.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.io.LocalFileSource;
import ai.cory.common.testing.SharedAssets;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * llama.cpp's tokenizer test vectors (GPT-2, Llama-2; ids without special tokens, read the way
 * {@code shared/tools/fixtures/common.py read_test_vectors} does) and the stories260K cross-check.
 */
class HfTokenizerTest {
  @TempDir Path tmp;

  record Vector(String text, int[] ids) {}

  static List<Vector> testVectors(Path dir) throws IOException {
    String[] inputs = Files.readString(dir.resolve("tests.inp"), StandardCharsets.UTF_8)
        .split("\n__ggml_vocab_test__\n", -1);
    String[] outputs = Files.readString(dir.resolve("tests.out"), StandardCharsets.UTF_8)
        .split("\n", -1);
    assertEquals(inputs.length, outputs.length, "inputs vs expected lines");
    List<Vector> vectors = new ArrayList<>();
    for (int i = 0; i < inputs.length; i++) {
      String line = outputs[i].strip();
      int[] ids = line.isEmpty() ? new int[0]
          : Arrays.stream(line.split("\\s+")).mapToInt(Integer::parseInt).toArray();
      vectors.add(new Vector(inputs[i], ids));
    }
    return vectors;
  }

  private static void checkVectors(String family, int expectedCount) throws IOException {
    Path dir = SharedAssets.tokenizer(family);
    List<Vector> vectors = testVectors(dir);
    assertEquals(expectedCount, vectors.size());
    try (HfTokenizer tok = HfTokenizer.load(new LocalFileSource(dir))) {
      for (Vector v : vectors) {
        assertArrayEquals(v.ids(), tok.encode(v.text(), false), family + ": " + v.text());
      }
      List<int[]> batch = tok.encodeBatch(vectors.stream().map(Vector::text).toList(), false);
      for (int i = 0; i < vectors.size(); i++) {
        assertArrayEquals(vectors.get(i).ids(), batch.get(i), "batch " + family + " " + i);
      }
    }
  }

  @Test
  void gpt2TestVectors() throws IOException {
    checkVectors("gpt2", 47);
  }

  @Test
  void llama2TestVectors() throws IOException {
    checkVectors("llama2", 47);
  }

  @Test
  void gpt2SpecialIdsAndRoundTrips() throws IOException {
    try (HfTokenizer tok = HfTokenizer.load(new LocalFileSource(SharedAssets.tokenizer("gpt2")))) {
      assertEquals(50257, tok.vocabSize());
      assertEquals(50256, tok.bosId());
      assertEquals(50256, tok.eosId());
      assertEquals(50256, tok.padId(), "no pad token: pad = eos");
      String text = "Hello world! It's 2024, naïve café 😀\n\tdone.";
      int[] ids = tok.encode(text, true);
      assertArrayEquals(ids, tok.encode(text, false), "GPT-2 adds no special token");
      assertEquals(text, tok.decode(ids, false));
      int[] withEos = IntStream.concat(Arrays.stream(ids), IntStream.of(50256)).toArray();
      assertEquals(text + "<|endoftext|>", tok.decode(withEos, false));
      assertEquals(text, tok.decode(withEos, true));
      assertArrayEquals(new int[] {50256}, tok.encode("<|endoftext|>", false));
      assertArrayEquals(new int[0], tok.encode("", true));
      assertThrows(IllegalArgumentException.class, () -> tok.decode(new int[] {50257}, false));
    }
  }

  @Test
  void llama2SpecialIdsAndRoundTrips() throws IOException {
    try (HfTokenizer tok = HfTokenizer.load(new LocalFileSource(SharedAssets.tokenizer("llama2")))) {
      assertEquals(32000, tok.vocabSize());
      assertEquals(1, tok.bosId());
      assertEquals(2, tok.eosId());
      assertEquals(2, tok.padId(), "pad_token null: pad = eos");
      String text = "Hello world, this is 3.14 and 中文 text";
      int[] plain = tok.encode(text, false);
      int[] special = tok.encode(text, true);
      assertEquals(1, special[0], "<s> first");
      assertArrayEquals(plain, Arrays.copyOfRange(special, 1, special.length));
      assertEquals(text, tok.decode(plain, false));
      assertEquals(text, tok.decode(special, true));
      assertEquals("<s> " + text, tok.decode(special, false));
    }
  }

  @Test
  void stories260KCrossCheckStrings() throws IOException {
    JsonNode rows = SharedAssets.golden("tokenizer_checks.json").path("stories260K_cross_check")
        .path("rows");
    assertEquals(201, rows.size());
    try (HfTokenizer tok = HfTokenizer.load(new LocalFileSource(SharedAssets.model("stories260K")))) {
      assertEquals(512, tok.vocabSize());
      assertEquals(1, tok.bosId());
      assertEquals(2, tok.eosId());
      assertEquals(2, tok.padId());
      int roundTrips = 0;
      for (JsonNode row : rows) {
        String text = row.get("text").asText();
        int[] expected = new int[row.get("hf_tokenizer_json").size()];
        for (int i = 0; i < expected.length; i++) {
          expected[i] = row.get("hf_tokenizer_json").get(i).asInt();
        }
        assertArrayEquals(expected, tok.encode(text, false), text);
        int[] withBos = tok.encode(text, true);
        assertEquals(1, withBos[0], "<s> first: " + text);
        assertArrayEquals(expected, Arrays.copyOfRange(withBos, 1, withBos.length), text);
        // decoding gives the text back unless it spells a special token (ids 0-2) or contains
        // the SentencePiece space marker U+2581, which the decoder turns into a space
        boolean lossless = Arrays.stream(expected).noneMatch(id -> id <= 2) && !text.contains("\u2581");
        if (lossless) {
          assertEquals(text, tok.decode(expected, false), "round trip");
          roundTrips++;
        }
      }
      assertTrue(roundTrips >= 190, "round trips " + roundTrips);
      assertArrayEquals(new int[] {1}, tok.encode("", true), "empty text: just <s>");
      assertArrayEquals(new int[0], tok.encode("", false));
    }
  }

  @Test
  void longTextsAreNotTruncated() throws IOException {
    try (HfTokenizer llama = HfTokenizer.load(new LocalFileSource(SharedAssets.model("stories260K")));
        HfTokenizer gpt2 = HfTokenizer.load(new LocalFileSource(SharedAssets.tokenizer("gpt2")))) {
      String sentence = "Once upon a time, there was a little girl named Lily. ";
      String text = sentence.repeat(80);
      int[] ids = llama.encode(text, true);
      assertTrue(ids.length > 1000, "length " + ids.length);
      assertEquals(text, llama.decode(ids, true));
      int[] gpt2Ids = gpt2.encode(text, false);
      assertTrue(gpt2Ids.length > 900, "length " + gpt2Ids.length);
      assertEquals(text, gpt2.decode(gpt2Ids, false));
      List<int[]> batch = llama.encodeBatch(List.of(text, "", sentence), true);
      assertArrayEquals(ids, batch.get(0));
      assertArrayEquals(new int[] {1}, batch.get(1));
    }
  }

  @Test
  void missingOrBrokenFilesNameTheFile() throws IOException {
    LocalFileSource empty = new LocalFileSource(tmp);
    FileNotFoundException missing = assertThrows(FileNotFoundException.class,
        () -> HfTokenizer.load(empty));
    assertTrue(missing.getMessage().contains(tmp.resolve("tokenizer.json").toString()));
    Files.writeString(tmp.resolve("tokenizer.json"), "{\"model\": ");
    IOException broken = assertThrows(IOException.class, () -> HfTokenizer.load(empty));
    assertTrue(broken.getMessage().contains(tmp.resolve("tokenizer.json").toString())
        && broken.getMessage().contains("malformed"), broken.getMessage());
    Files.copy(SharedAssets.tokenizer("gpt2").resolve("tokenizer.json"), tmp.resolve("tokenizer.json"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    Files.writeString(tmp.resolve("tokenizer_config.json"), "{\"pad_token\": \"<pad>\"}");
    IOException unknown = assertThrows(IOException.class, () -> HfTokenizer.load(empty));
    assertTrue(unknown.getMessage().contains("pad_token '<pad>' is not a token"), unknown.getMessage());
  }
}
