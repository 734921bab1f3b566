package ai.cory.common.model;

import static ai.cory.common.model.Golden.checkAbs;
import static ai.cory.common.model.Golden.checkLogit;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.testing.SharedAssets;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * FLOAT forward of the shared models against the float64 PyTorch goldens
 * ({@code golden/*_forward.json}, tolerances from golden/README.md): all-vocab logits at the last
 * position, per-position argmax (where the top-2 gap exceeds 1e-3), log-sum-exp and logits of
 * ids 0..7, next-token log-probs and the mean cross-entropy.
 */
class ForwardGoldenTest {
  @ParameterizedTest
  @CsvSource({"tiny-gpt2, gpt2_tiny_forward.json", "stories260K, llama_stories260K_forward.json"})
  void matchesGolden(String model, String file) {
    JsonNode golden = SharedAssets.golden(file);
    CausalLm lm = Golden.model(model);
    double logitErr = 0;
    double logpErr = 0;
    int argmaxChecked = 0;
    for (JsonNode seq : golden.get("sequences")) {
      int[] ids = Golden.ints(seq.get("input_ids"));
      int t = ids.length;
      Workspace ws = lm.newWorkspace(1, t, false, true);
      ForwardResult r = lm.forward(ws, TokenBatch.of(new int[][] {ids}),
          ForwardOptions.allLogits(t));
      INDArray logits = r.vocab(); // (T, V)
      String name = model + " '" + seq.get("text").asText() + "'";
      double[] last = Golden.doubles(seq.get("last_position_logits"));
      assertEquals(lm.config().vocabSize(), last.length);
      for (int v = 0; v < last.length; v++) {
        logitErr = Math.max(logitErr,
            checkLogit(name + " last logits[" + v + "]", logits.getDouble(t - 1, v), last[v]));
      }
      JsonNode pp = seq.get("per_position");
      for (int pos = 0; pos < t; pos++) {
        double gap = pp.get("top2_gap").get(pos).asDouble();
        if (gap > 1e-3) {
          assertEquals(pp.get("argmax").get(pos).asInt(),
              logits.getRow(pos).argMax().getInt(0), name + " argmax at " + pos);
          argmaxChecked++;
        }
        logitErr = Math.max(logitErr, checkLogit(name + " logsumexp at " + pos,
            r.logsumexp().getDouble(0, pos), pp.get("logsumexp").get(pos).asDouble()));
        double[] first8 = Golden.doubles(pp.get("logits_0_7").get(pos));
        for (int v = 0; v < 8; v++) {
          logitErr = Math.max(logitErr, checkLogit(name + " logit " + v + " at " + pos,
              logits.getDouble(pos, v), first8[v]));
        }
      }
      double[] nextLogp = Golden.doubles(seq.get("next_token_logprobs"));
      double ce = 0;
      for (int pos = 0; pos < t - 1; pos++) {
        double lp = r.logp().getDouble(0, pos);
        logpErr = Math.max(logpErr, checkAbs(name + " logp at " + pos, lp, nextLogp[pos], 1e-4));
        ce -= lp;
      }
      if (t > 1) {
        double ref = seq.get("mean_next_token_ce").asDouble();
        ce /= t - 1;
        assertTrue(Math.abs(ce - ref) <= 1e-5 * Math.abs(ref),
            name + " mean CE " + ce + " vs " + ref);
      }
    }
    System.out.printf("%s forward: max |logit diff| %.2e, max |logp diff| %.2e, %d argmax%n",
        model, logitErr, logpErr, argmaxChecked);
  }
}
