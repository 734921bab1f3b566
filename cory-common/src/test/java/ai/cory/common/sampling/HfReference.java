package ai.cory.common.sampling;

import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * Literal transcription of HF transformers' logits processors (generation/logits_process.py,
 * v4.36) on full arrays, used as an independent reference for {@link LogitsSampler}: full sorts,
 * -inf masking, softmax over the whole vocabulary, no shortcuts.
 */
final class HfReference {
  private HfReference() {}

  /** The probabilities HF's sampling step would pass to torch.multinomial. */
  static double[] probabilities(double[] logits, int[] history, SamplingParams p) {
    double[] s = logits.clone();
    // RepetitionPenaltyLogitsProcessor: score = gather(scores, input_ids); where(<0, *p, /p); scatter.
    if (p.repetitionPenalty() != 1.0) {
      Set<Integer> ids = new LinkedHashSet<>();
      for (int id : history) {
        ids.add(id);
      }
      double[] gathered = new double[ids.size()];
      int j = 0;
      for (int id : ids) {
        gathered[j++] = s[id];
      }
      j = 0;
      for (int id : ids) {
        double g = gathered[j++];
        s[id] = g < 0 ? g * p.repetitionPenalty() : g / p.repetitionPenalty();
      }
    }
    if (p.greedy()) {
      double[] oneHot = new double[s.length];
      int best = 0;
      for (int i = 1; i < s.length; i++) {
        if (s[i] > s[best]) {
          best = i;
        }
      }
      oneHot[best] = 1;
      return oneHot;
    }
    // TemperatureLogitsWarper
    if (p.temperature() != 1.0) {
      for (int i = 0; i < s.length; i++) {
        s[i] = s[i] / p.temperature();
      }
    }
    // TopKLogitsWarper: top_k = min(max(top_k, min_tokens_to_keep), V); remove s < topk(s)[-1]
    if (p.topK() != 0) {
      int k = Math.min(Math.max(p.topK(), 1), s.length);
      double[] sorted = s.clone();
      Arrays.sort(sorted);
      double kth = sorted[s.length - k];
      for (int i = 0; i < s.length; i++) {
        if (s[i] < kth) {
          s[i] = Double.NEGATIVE_INFINITY;
        }
      }
    }
    // TopPLogitsWarper: ascending sort, cumsum(softmax), remove <= 1 - top_p, keep the last one.
    if (p.topP() < 1.0) {
      Integer[] idx = new Integer[s.length];
      for (int i = 0; i < s.length; i++) {
        idx[i] = i;
      }
      final double[] sc = s;
      Arrays.sort(idx, Comparator.comparingDouble(i -> sc[i])); // stable: ties by index
      double[] sortedLogits = new double[s.length];
      for (int i = 0; i < s.length; i++) {
        sortedLogits[i] = s[idx[i]];
      }
      double[] sortedProbs = softmax(sortedLogits);
      double cumulative = 0;
      boolean[] remove = new boolean[s.length];
      for (int i = 0; i < s.length; i++) {
        cumulative += sortedProbs[i];
        remove[i] = cumulative <= 1 - p.topP();
      }
      remove[s.length - 1] = false;
      for (int i = 0; i < s.length; i++) {
        if (remove[i]) {
          s[idx[i]] = Double.NEGATIVE_INFINITY;
        }
      }
    }
    return softmax(s);
  }

  static double[] softmax(double[] s) {
    double max = Double.NEGATIVE_INFINITY;
    for (double v : s) {
      max = Math.max(max, v);
    }
    double[] e = new double[s.length];
    double sum = 0;
    for (int i = 0; i < s.length; i++) {
      e[i] = Math.exp(s[i] - max);
      sum += e[i];
    }
    for (int i = 0; i < s.length; i++) {
      e[i] /= sum;
    }
    return e;
  }
}
