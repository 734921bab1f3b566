package ai.cory.common.eval;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The held-out evaluation's measures: the unbiased pass@k estimator, and the diversity of a set
 * of responses (distinct-n, self-BLEU), the collapse indicators of the CORY paper's section 5.
 * Texts are compared as whitespace-separated words.
 */
public final class TextMetrics {
  /** BLEU's highest n-gram order. */
  public static final int BLEU_ORDER = 4;
  /** Chen and Cherry's smoothing 1 (NLTK {@code SmoothingFunction().method1}): 0 matches count 0.1. */
  static final double BLEU_EPSILON = 0.1;

  private TextMetrics() {}

  /**
   * pass@k of one question with {@code n} samples of which {@code c} are correct: the chance that
   * k samples drawn without replacement from the n hold a correct one, {@code 1 - C(n-c, k) /
   * C(n, k)} (Chen et al. 2021, "Evaluating Large Language Models Trained on Code", computed as
   * their numerically stable product).
   */
  public static double passAtK(int n, int c, int k) {
    if (k < 1 || n < k || c < 0 || c > n) {
      throw new IllegalArgumentException("pass@k needs 1 <= k <= n and 0 <= c <= n; got n=" + n + " c=" + c
          + " k=" + k);
    }
    if (n - c < k) {
      return 1.0;
    }
    double fail = 1.0;
    for (int i = n - c + 1; i <= n; i++) {
      fail *= 1.0 - (double) k / i;
    }
    return 1.0 - fail;
  }

  /** The words of a text: maximal runs of non-whitespace. */
  public static List<String> words(String text) {
    List<String> out = new ArrayList<>();
    for (String w : text.strip().split("\\s+")) {
      if (!w.isEmpty()) {
        out.add(w);
      }
    }
    return out;
  }

  /**
   * distinct-n (Li et al. 2016): distinct n-grams over all n-grams of all texts; 0 when there
   * are none. 1 = no n-gram repeats anywhere; a collapsed policy repeating itself scores low.
   */
  public static double distinctN(List<List<String>> texts, int n) {
    Set<List<String>> distinct = new HashSet<>();
    long total = 0;
    for (List<String> t : texts) {
      for (int i = 0; i + n <= t.size(); i++) {
        distinct.add(List.copyOf(t.subList(i, i + n)));
        total++;
      }
    }
    return total == 0 ? 0.0 : (double) distinct.size() / total;
  }

  /**
   * Self-BLEU (Zhu et al. 2018, Texygen): the mean over texts of the BLEU-4 of each text against
   * all the others as references. 1 = every response says the same; independent responses score
   * near 0. Empty texts are skipped as hypotheses; NaN with fewer than two texts.
   */
  public static double selfBleu(List<List<String>> texts) {
    if (texts.size() < 2) {
      return Double.NaN;
    }
    List<Map<List<String>, Integer>[]> counts = new ArrayList<>();
    for (List<String> t : texts) {
      counts.add(ngramCounts(t));
    }
    double sum = 0;
    int scored = 0;
    for (int h = 0; h < texts.size(); h++) {
      if (texts.get(h).isEmpty()) {
        continue;
      }
      sum += bleu(texts, counts, h);
      scored++;
    }
    return scored == 0 ? Double.NaN : sum / scored;
  }

  /**
   * Sentence BLEU-4 of {@code hypothesis} against {@code references} (Papineni et al. 2002):
   * uniform weights over orders 1-4, clipped counts, brevity penalty against the reference length
   * closest to the hypothesis (shorter on ties), and smoothing method 1, as NLTK's {@code
   * sentence_bleu(refs, hyp, smoothing_function=SmoothingFunction().method1)}.
   */
  public static double bleu(List<String> hypothesis, List<List<String>> references) {
    List<List<String>> all = new ArrayList<>(references.size() + 1);
    all.add(hypothesis);
    all.addAll(references);
    List<Map<List<String>, Integer>[]> counts = new ArrayList<>();
    for (List<String> t : all) {
      counts.add(ngramCounts(t));
    }
    return bleu(all, counts, 0);
  }

  /** BLEU of text {@code h} against every other text. */
  private static double bleu(List<List<String>> texts, List<Map<List<String>, Integer>[]> counts, int h) {
    int hypLen = texts.get(h).size();
    if (hypLen == 0) {
      return 0.0;
    }
    double logPrecision = 0;
    for (int n = 1; n <= BLEU_ORDER; n++) {
      Map<List<String>, Integer> hyp = counts.get(h)[n - 1];
      Map<List<String>, Integer> maxRef = new HashMap<>();
      for (int r = 0; r < texts.size(); r++) {
        if (r == h) {
          continue;
        }
        counts.get(r)[n - 1].forEach((g, c) -> maxRef.merge(g, c, Math::max));
      }
      long matched = 0;
      long total = 0;
      for (Map.Entry<List<String>, Integer> e : hyp.entrySet()) {
        matched += Math.min(e.getValue(), maxRef.getOrDefault(e.getKey(), 0));
        total += e.getValue();
      }
      if (n == 1 && matched == 0) { // no word in common: 0, smoothing or not (as NLTK)
        return 0.0;
      }
      long denominator = Math.max(1, total); // a hypothesis shorter than n: 0 / 1, then smoothed
      double p = matched == 0 ? BLEU_EPSILON / denominator : (double) matched / denominator;
      logPrecision += Math.log(p) / BLEU_ORDER;
    }
    int closest = -1;
    for (int r = 0; r < texts.size(); r++) {
      if (r == h) {
        continue;
      }
      int len = texts.get(r).size();
      if (closest < 0 || Math.abs(len - hypLen) < Math.abs(closest - hypLen)
          || Math.abs(len - hypLen) == Math.abs(closest - hypLen) && len < closest) {
        closest = len;
      }
    }
    double brevity = hypLen > closest ? 1.0 : Math.exp(1.0 - (double) closest / hypLen);
    return brevity * Math.exp(logPrecision);
  }

  @SuppressWarnings("unchecked")
  private static Map<List<String>, Integer>[] ngramCounts(List<String> t) {
    Map<List<String>, Integer>[] out = new Map[BLEU_ORDER];
    for (int n = 1; n <= BLEU_ORDER; n++) {
      Map<List<String>, Integer> m = new HashMap<>();
      for (int i = 0; i + n <= t.size(); i++) {
        m.merge(List.copyOf(t.subList(i, i + n)), 1, Integer::sum);
      }
      out[n - 1] = m;
    }
    return out;
  }
}
