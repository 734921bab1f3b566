package ai.cory.common.sampling;

/**
 * Selection and sorting of token indices by score, without boxing. The order is total: larger
 * score first, and among equal scores the larger index first, i.e. exactly the reverse of a
 * stable ascending sort ({@code torch.sort(scores, stable=True)}, which HF's top-p walks from
 * the smallest). Scores must not be NaN.
 */
final class IndexOrder {
  private static final int INSERTION_SORT_MAX = 16;

  private IndexOrder() {}

  /** True when index a ranks strictly before index b (descending order). */
  static boolean before(double[] scores, int a, int b) {
    double sa = scores[a];
    double sb = scores[b];
    return sa > sb || (sa == sb && a > b);
  }

  /**
   * Rearranges {@code idx[from..to)} so that {@code idx[from..from+m)} hold the m first indices
   * of that range in the descending order (in no particular order among themselves).
   * Quickselect, O(to - from) expected.
   */
  static void selectFirst(double[] scores, int[] idx, int from, int to, int m) {
    int k = from + m; // the boundary to establish
    if (m <= 0 || k >= to) {
      return;
    }
    int lo = from;
    int hi = to;
    while (hi - lo > 1) {
      int p = partition(scores, idx, lo, hi);
      if (p == k || p == k - 1) {
        return;
      }
      if (p > k) {
        hi = p;
      } else {
        lo = p + 1;
      }
    }
  }

  /** Sorts {@code idx[lo..hi)} in descending order. */
  static void sortDescending(double[] scores, int[] idx, int lo, int hi) {
    while (hi - lo > INSERTION_SORT_MAX) {
      int p = partition(scores, idx, lo, hi);
      // Recurse into the smaller side, loop on the larger: stack depth O(log n).
      if (p - lo < hi - p - 1) {
        sortDescending(scores, idx, lo, p);
        lo = p + 1;
      } else {
        sortDescending(scores, idx, p + 1, hi);
        hi = p;
      }
    }
    for (int i = lo + 1; i < hi; i++) {
      int v = idx[i];
      int j = i - 1;
      while (j >= lo && before(scores, v, idx[j])) {
        idx[j + 1] = idx[j];
        j--;
      }
      idx[j + 1] = v;
    }
  }

  /**
   * Lomuto partition of {@code idx[lo..hi)} around the median of first, middle and last;
   * returns the pivot's final position p: {@code idx[lo..p)} rank before it, the rest after.
   */
  private static int partition(double[] scores, int[] idx, int lo, int hi) {
    int last = hi - 1;
    int mid = (lo + last) >>> 1;
    // Median of three moved to `last`.
    if (before(scores, idx[mid], idx[lo])) {
      swap(idx, mid, lo);
    }
    if (before(scores, idx[last], idx[lo])) {
      swap(idx, last, lo);
    }
    if (before(scores, idx[mid], idx[last])) {
      swap(idx, mid, last);
    }
    int pivot = idx[last];
    int store = lo;
    for (int i = lo; i < last; i++) {
      if (before(scores, idx[i], pivot)) {
        swap(idx, i, store++);
      }
    }
    swap(idx, store, last);
    return store;
  }

  private static void swap(int[] idx, int i, int j) {
    int t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
}
