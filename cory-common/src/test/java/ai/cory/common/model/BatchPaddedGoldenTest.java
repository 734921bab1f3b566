package ai.cory.common.model;

import static ai.cory.common.model.Golden.checkAbs;
import static ai.cory.common.model.Golden.checkLogit;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.cory.common.testing.SharedAssets;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Left-padded batches against {@code golden/*_batch_padded.json}: position ids, per-row logits /
 * log-sum-exp / argmax at the last column, the next-token log-probs of every real token, and the
 * 8 tokens of batched greedy decoding, both by re-running the whole batch each step and through
 * the KV cache.
 */
class BatchPaddedGoldenTest {
  @ParameterizedTest
  @CsvSource({"tiny-gpt2, gpt2_tiny_batch_padded.json",
      "stories260K, llama_stories260K_batch_padded.json"})
  void matchesGolden(String model, String file) {
    JsonNode golden = SharedAssets.golden(file);
    CausalLm lm = Golden.model(model);
    int[][] ids = Golden.intMatrix(golden.get("input_ids"));
    int[][] mask = Golden.intMatrix(golden.get("attention_mask"));
    int[][] goldenPositions = Golden.intMatrix(golden.get("position_ids"));
    int rows = ids.length;
    int t = ids[0].length;
    TokenBatch batch = TokenBatch.of(ids, mask);
    for (int b = 0; b < rows; b++) {
      for (int c = 0; c < t; c++) {
        if (mask[b][c] == 1) {
          assertEquals(goldenPositions[b][c], batch.position(b, c), "position (" + b + "," + c);
        }
      }
    }
    Workspace ws = lm.newWorkspace(rows, t + 8, false, true);
    ForwardResult r = lm.forward(ws, batch,
        new ForwardOptions(0, t, ForwardOptions.Vocab.LOGITS, false, false));
    double logitErr = 0;
    double logpErr = 0;
    for (int b = 0; b < rows; b++) {
      JsonNode row = golden.get("rows").get(b);
      int pad = row.get("n_pad").asInt();
      double[] last = Golden.doubles(row.get("last_position_logits"));
      INDArray logits = r.vocab().getRow(r.vocabRow(b, t - 1));
      for (int v = 0; v < last.length; v++) {
        logitErr = Math.max(logitErr,
            checkLogit(model + " row " + b + " logit " + v, logits.getDouble(v), last[v]));
      }
      logitErr = Math.max(logitErr, checkLogit(model + " row " + b + " logsumexp",
          r.logsumexp().getDouble(b, t - 1), row.get("last_position_logsumexp").asDouble()));
      assertEquals(row.get("last_position_argmax").asInt(), logits.argMax().getInt(0));
      double[] nextLogp = Golden.doubles(row.get("next_token_logprobs"));
      for (int k = 0; k < nextLogp.length; k++) {
        logpErr = Math.max(logpErr, checkAbs(model + " row " + b + " logp " + k,
            r.logp().getDouble(b, pad + k), nextLogp[k], 1e-4));
      }
    }
    int[][] expected = Golden.intMatrix(golden.get("greedy").get("new_tokens"));
    int steps = golden.get("greedy").get("n_new").asInt();
    assertArrayEquals(expected, greedyFullForward(lm, ws, ids, mask, steps), "greedy, re-forward");
    assertArrayEquals(expected, greedyCached(lm, ids, mask, steps), "greedy, KV cache");
    System.out.printf("%s batch padded: max |logit diff| %.2e, max |logp diff| %.2e, greedy ok%n",
        model, logitErr, logpErr);
  }

  /** The golden's procedure: run the whole left-padded batch each step, append the argmax. */
  private static int[][] greedyFullForward(CausalLm lm, Workspace ws, int[][] ids, int[][] mask,
      int steps) {
    int rows = ids.length;
    int[][] tokens = new int[rows][];
    int[][] m = new int[rows][];
    for (int b = 0; b < rows; b++) {
      tokens[b] = ids[b].clone();
      m[b] = mask[b].clone();
    }
    int[][] out = new int[rows][steps];
    for (int s = 0; s < steps; s++) {
      int t = tokens[0].length;
      ForwardResult r = lm.forward(ws, TokenBatch.of(tokens, m),
          new ForwardOptions(t - 1, t, ForwardOptions.Vocab.LOGITS, false, false));
      for (int b = 0; b < rows; b++) {
        out[b][s] = r.vocab().getRow(b).argMax().getInt(0);
        tokens[b] = Arrays.copyOf(tokens[b], t + 1);
        tokens[b][t] = out[b][s];
        m[b] = Arrays.copyOf(m[b], t + 1);
        m[b][t] = 1;
      }
    }
    return out;
  }

  private static int[][] greedyCached(CausalLm lm, int[][] ids, int[][] mask, int steps) {
    int rows = ids.length;
    KvCache cache = lm.newKvCache(rows, ids[0].length + steps);
    INDArray logits = lm.prefill(cache, ids, mask);
    int[][] out = new int[rows][steps];
    int[] next = new int[rows];
    for (int s = 0; s < steps; s++) {
      for (int b = 0; b < rows; b++) {
        next[b] = logits.getRow(b).argMax().getInt(0);
        out[b][s] = next[b];
      }
      if (s + 1 < steps) {
        logits = lm.decode(cache, next);
      }
    }
    return out;
  }
}
