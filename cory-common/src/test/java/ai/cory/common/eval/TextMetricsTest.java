package ai.cory.common.eval;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.util.List;
import org.junit.jupiter.api.Test;

/** pass@k, distinct-n and BLEU against exact combinatorics, hand counts and NLTK's documented value. */
final class TextMetricsTest {

  private static BigInteger choose(int n, int k) {
    BigInteger r = BigInteger.ONE;
    for (int i = 0; i < k; i++) {
      r = r.multiply(BigInteger.valueOf(n - i)).divide(BigInteger.valueOf(i + 1));
    }
    return r;
  }

  @Test
  void passAtKIsOneMinusTheChanceThatKDrawsMissEveryCorrectSample() {
    for (int n = 1; n <= 20; n++) {
      for (int c = 0; c <= n; c++) {
        for (int k = 1; k <= n; k++) {
          double exact = n - c < k ? 1.0
              : 1.0 - choose(n - c, k).doubleValue() / choose(n, k).doubleValue();
          assertEquals(exact, TextMetrics.passAtK(n, c, k), 1e-12, "n=" + n + " c=" + c + " k=" + k);
        }
      }
    }
    assertEquals(0.4, TextMetrics.passAtK(5, 2, 1), 1e-15, "pass@1 is the fraction correct");
    assertEquals(0.7, TextMetrics.passAtK(5, 2, 2), 1e-15);
    assertThrows(IllegalArgumentException.class, () -> TextMetrics.passAtK(4, 1, 5));
  }

  @Test
  void distinctNCountsUniqueNgramsOverAllNgrams() {
    List<List<String>> texts = List.of(TextMetrics.words("the cat sat"), TextMetrics.words("  the cat ran\n"));
    assertEquals(4.0 / 6, TextMetrics.distinctN(texts, 1), 1e-15); // the cat sat ran of 6
    assertEquals(3.0 / 4, TextMetrics.distinctN(texts, 2), 1e-15); // "the cat" twice
    assertEquals(1.0, TextMetrics.distinctN(List.of(TextMetrics.words("a b c d")), 1));
    assertEquals(0.0, TextMetrics.distinctN(List.of(List.of()), 2));
  }

  @Test
  void bleuMatchesNltksDocumentedExample() {
    // nltk.translate.bleu_score.sentence_bleu docstring: 0.5045...
    List<String> hypothesis = TextMetrics.words("It is a guide to action which ensures that the military always "
        + "obeys the commands of the party");
    List<List<String>> references = List.of(
        TextMetrics.words("It is a guide to action that ensures that the military will forever heed Party commands"),
        TextMetrics.words("It is the guiding principle which guarantees the military forces always being under "
            + "the command of the Party"),
        TextMetrics.words("It is the practical guide for the army always to heed the directions of the party"));
    double bleu = TextMetrics.bleu(hypothesis, references);
    assertTrue(bleu >= 0.5045 && bleu < 0.5046, "the doctest prints 0.5045...: " + bleu);
  }

  @Test
  void bleuSmoothsMissingOrdersAndPenalisesShortHypotheses() {
    List<List<String>> refs = List.of(TextMetrics.words("the cat is on the mat"),
        TextMetrics.words("there is a cat on the mat"));
    // Papineni et al.'s example: modified unigram precision 2/7, no bigram or longer match;
    // smoothing 1 counts 0.1 matches; closest reference length 7 = hypothesis length, no penalty
    double expected = Math.exp((Math.log(2.0 / 7) + Math.log(0.1 / 6) + Math.log(0.1 / 5) + Math.log(0.1 / 4)) / 4);
    assertEquals(expected, TextMetrics.bleu(TextMetrics.words("the the the the the the the"), refs), 1e-12);
    assertEquals(1.0, TextMetrics.bleu(refs.get(0), List.of(refs.get(0))), 1e-12);
    assertEquals(0.0, TextMetrics.bleu(TextMetrics.words("dog"), refs), 0.0, "no word in common");
    // "on the mat": 3 of 3 words, 2 of 2 bigrams, 1 of 1 trigram, no 4-gram (0.1 / 1); length 3 vs 6
    double shortOne = Math.exp(1 - 6.0 / 3) * Math.exp((0 + 0 + 0 + Math.log(0.1)) / 4);
    assertEquals(shortOne, TextMetrics.bleu(TextMetrics.words("on the mat"), refs), 1e-12);
  }

  @Test
  void selfBleuIsOneForIdenticalTextsAndLowForUnrelatedOnes() {
    List<String> s = TextMetrics.words("the movie was great and the cast was great too");
    assertEquals(1.0, TextMetrics.selfBleu(List.of(s, s, s)), 1e-12);
    double diverse = TextMetrics.selfBleu(List.of(TextMetrics.words("a quiet film about a lighthouse keeper"),
        TextMetrics.words("loud explosions never stop in this sequel"),
        TextMetrics.words("my grandmother knitted through the whole screening")));
    assertTrue(diverse < 0.05, "unrelated texts: " + diverse);
    assertTrue(Double.isNaN(TextMetrics.selfBleu(List.of(s))));
  }
}
