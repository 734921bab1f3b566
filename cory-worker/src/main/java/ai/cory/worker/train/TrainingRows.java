package ai.cory.worker.train;

import ai.cory.worker.comm.Collective;
import java.util.ArrayList;
import java.util.List;

/**
 * The rows the PPO epochs draw their minibatches from, with the per-token loss inputs computed
 * before the epochs. Grids are in the {@link PpoBatch} column layout; only the masked-in
 * (response) columns of a row are ever read, and rows may be shorter than the batch's width.
 *
 * <p>Two sources: this worker's own rows ({@link #local}), enough when every minibatch is the
 * whole batch or when there is one worker; or the whole batch of every worker
 * ({@link #gathered}), so that each PPO minibatch is the same set of global rows whatever W is,
 * and each worker takes an equal share of it (exact W-invariance with balanced work).
 *
 * @param batch        the (prompt, response) rows
 * @param logProbs     (rows, *) old log-probs
 * @param maskedValues (rows, *) old values, masked
 * @param advantages   (rows, *) whitened advantages
 * @param returns      (rows, *) returns
 */
record TrainingRows(PpoBatch batch, double[][] logProbs, double[][] maskedValues, double[][] advantages,
    double[][] returns) {

  /** Number of rows. */
  int count() {
    return batch.rows();
  }

  /** This worker's prepared rows as they are (nothing copied). */
  static TrainingRows local(PreparedBatch p) {
    return new TrainingRows(p.batch(), p.logProbs(), p.gae().maskedValues(), p.advantages(), p.gae().returns());
  }

  /**
   * The rows of every worker in rank order (global row {@code r B/W + j} is rank r's row j), via
   * two all-gathers: the (prompt, response) lengths, then each row's tokens and the four grids on
   * its response columns, padded to the longest worker's payload. Token ids and doubles travel
   * exactly, so every worker holds bit-identical copies of every row's loss inputs.
   */
  static TrainingRows gathered(PreparedBatch p, Collective collective) {
    PpoBatch local = p.batch();
    int rows = local.rows();
    int world = collective.worldSize();
    double[] lengths = new double[2 * rows];
    for (int j = 0; j < rows; j++) {
      lengths[2 * j] = local.prompt(j).length;
      lengths[2 * j + 1] = local.response(j).length;
    }
    double[] allLengths = collective.allGather(lengths);
    int longestPayload = 0;
    for (int r = 0; r < world; r++) {
      longestPayload = Math.max(longestPayload, payloadSize(allLengths, r * rows, rows));
    }
    double[] payload = new double[longestPayload];
    int at = 0;
    double[][][] grids = {p.logProbs(), p.gae().maskedValues(), p.advantages(), p.gae().returns()};
    for (int j = 0; j < rows; j++) {
      int[] prompt = local.prompt(j);
      int[] response = local.response(j);
      for (int token : prompt) {
        payload[at++] = token;
      }
      for (int token : response) {
        payload[at++] = token;
      }
      for (double[][] grid : grids) {
        System.arraycopy(grid[j], prompt.length - 1, payload, at, response.length);
        at += response.length;
      }
    }
    double[] all = collective.allGather(payload);

    int total = rows * world;
    List<int[]> prompts = new ArrayList<>(total);
    List<int[]> responses = new ArrayList<>(total);
    double[][][] out = new double[grids.length][total][];
    for (int r = 0; r < world; r++) {
      int pos = r * longestPayload;
      for (int j = 0; j < rows; j++) {
        int g = r * rows + j;
        int q = (int) allLengths[2 * g];
        int n = (int) allLengths[2 * g + 1];
        prompts.add(tokens(all, pos, q));
        responses.add(tokens(all, pos + q, n));
        pos += q + n;
        for (double[][] grid : out) {
          grid[g] = new double[q + n - 1];
          System.arraycopy(all, pos, grid[g], q - 1, n);
          pos += n;
        }
      }
    }
    return new TrainingRows(new PpoBatch(prompts, responses, local.padId()), out[0], out[1], out[2], out[3]);
  }

  /** Doubles one worker sends for rows {@code [from, from + rows)}: tokens plus four grids. */
  private static int payloadSize(double[] lengths, int from, int rows) {
    long size = 0;
    for (int g = from; g < from + rows; g++) {
      size += (long) lengths[2 * g] + 5L * (long) lengths[2 * g + 1];
    }
    return Math.toIntExact(size);
  }

  private static int[] tokens(double[] all, int from, int n) {
    int[] t = new int[n];
    for (int i = 0; i < n; i++) {
      t[i] = (int) all[from + i];
    }
    return t;
  }
}
