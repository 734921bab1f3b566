package ai.cory.common.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.testing.SharedAssets;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The model side of {@code golden/ppo_step_gpt2_tiny.json} (TRL 0.7.9 on tiny-gpt2, RIGHT
 * padding, positions 0..T-1): per-token log-probs of policy and reference, raw values of the
 * given value head, the exact ("full") KL per column and the masked mean entropy, on every
 * column of the (4, 14) batch; and the gradient of TRL's loss w.r.t. every tensor, obtained by
 * feeding the loss's derivatives into {@link CausalLm#backward}. At ratio 1 and v = v_old the
 * clipped PPO terms have the unclipped gradients, so with masked means over n = sum(mask):
 * {@code dL/dlogp = -A mask / n} and {@code dL/dv = vf_coef (v - R) mask / n}.
 */
class PpoGoldenTest {
  private static final double TOL = 1e-5;

  @Test
  void forwardStatisticsAndGradientsMatchTrl() {
    JsonNode golden = SharedAssets.golden("ppo_step_gpt2_tiny.json");
    CausalLm policy = Golden.model("tiny-gpt2");
    CausalLm ref = Golden.model("tiny-gpt2-ref");
    INDArray vw = policy.params().get(ParamLayout.VALUE_WEIGHT);
    INDArray vb = policy.params().get(ParamLayout.VALUE_BIAS);
    INDArray savedW = vw.dup();
    INDArray savedB = vb.dup();
    try {
      vw.assign(Nd4j.createFromArray(Golden.doubles(golden.get("value_head")
          .get(ParamLayout.VALUE_WEIGHT).get(0))).reshape(1, 64));
      vb.assign(golden.get("value_head").get(ParamLayout.VALUE_BIAS).get(0).asDouble());
      check(golden, policy, ref);
    } finally {
      vw.assign(savedW);
      vb.assign(savedB);
    }
  }

  private static void check(JsonNode golden, CausalLm policy, CausalLm ref) {
    int[][] ids = Golden.intMatrix(golden.get("input_ids"));
    int[][] mask = Golden.intMatrix(golden.get("attention_mask"));
    TokenBatch batch = TokenBatch.of(ids, mask);
    int b = ids.length;
    int t = ids[0].length;
    ForwardOptions all = new ForwardOptions(0, t - 1, ForwardOptions.Vocab.LOG_PROBS, true, true);
    ForwardResult refOut = ref.forward(ref.newWorkspace(b, t, false, true), batch, all);
    INDArray refLogp = refOut.logp().dup();
    double worst = 0;
    for (JsonNode scenario : golden.get("scenarios")) {
      boolean perturbed = scenario.get("ref_model").asText().endsWith("tiny-gpt2-ref");
      JsonNode grid = scenario.get("per_token_full_grid");
      Workspace ws = policy.newWorkspace(b, t, true, false);
      INDArray refBlock = perturbed ? refOut.vocab()
          : policy.forward(policy.newWorkspace(b, t, false, true), batch, all).vocab().dup();
      ForwardResult out = policy.forward(ws, batch,
          ForwardOptions.logprobsAndValues(0, t).withEntropy(), refBlock);
      int[][] m = Golden.intMatrix(grid.get("mask"));
      double n = 0;
      double entropySum = 0;
      for (int i = 0; i < b; i++) {
        double[] logp = Golden.doubles(grid.get("logprobs").get(i));
        double[] refLp = Golden.doubles(grid.get("ref_logprobs").get(i));
        double[] values = Golden.doubles(grid.get("values_raw").get(i));
        for (int c = 0; c < t - 1; c++) {
          worst = Math.max(worst, Golden.checkAbs("logprobs", out.logp().getDouble(i, c),
              logp[c], TOL));
          if (perturbed) {
            worst = Math.max(worst, Golden.checkAbs("ref logprobs", refLogp.getDouble(i, c),
                refLp[c], TOL));
          }
          worst = Math.max(worst, Golden.checkAbs("values", out.values().getDouble(i, c),
              values[c], TOL));
          if (scenario.get("kl_penalty").asText().equals("full")) {
            worst = Math.max(worst, Golden.checkAbs("full KL",
                out.kl().getDouble(i, c), grid.get("kl").get(i).get(c).asDouble(), TOL));
          }
          n += m[i][c];
          entropySum += m[i][c] * out.entropy().getDouble(i, c);
        }
      }
      Golden.checkAbs("policy/entropy", entropySum / n,
          scenario.get("minibatch_loss").get("policy/entropy").asDouble(), TOL);
      INDArray dLogp = Nd4j.create(policy.dataType(), b, t - 1);
      INDArray dValues = Nd4j.create(policy.dataType(), b, t);
      for (int i = 0; i < b; i++) {
        for (int c = 0; c < t - 1; c++) {
          double adv = grid.get("advantages").get(i).get(c).asDouble();
          double ret = grid.get("returns").get(i).get(c).asDouble();
          dLogp.putScalar(i, c, -adv * m[i][c] / n);
          dValues.putScalar(i, c, 0.1 * (out.values().getDouble(i, c) - ret) * m[i][c] / n);
        }
      }
      policy.zeroGrad();
      policy.backward(ws, dLogp, null, dValues);
      checkGradients(scenario.get("gradients"), policy);
    }
    System.out.printf("PPO golden: max per-token |diff| %.2e, gradients ok (4 scenarios)%n",
        worst);
  }

  private static void checkGradients(JsonNode gradients, CausalLm policy) {
    double global = 0;
    for (JsonNode p : gradients.get("params")) {
      String name = p.get("name").asText();
      INDArray g = policy.grads().get(name);
      double norm = g.norm2Number().doubleValue();
      double ref = p.get("l2_norm").asDouble();
      assertTrue(Math.abs(norm - ref) <= 1e-3 * ref + 1e-6, name + " grad norm " + norm
          + " vs " + ref);
      double[] first = Golden.doubles(p.get("first16"));
      double maxAbs = 0;
      for (double v : first) {
        maxAbs = Math.max(maxAbs, Math.abs(v));
      }
      INDArray flat = g.reshape(g.length());
      for (int i = 0; i < first.length; i++) {
        assertTrue(Math.abs(flat.getDouble(i) - first[i]) <= 1e-3 * maxAbs + 1e-9,
            name + " first16[" + i + "] " + flat.getDouble(i) + " vs " + first[i]);
      }
      global += norm * norm;
    }
    double ref = gradients.get("global_l2_norm").asDouble();
    assertTrue(Math.abs(Math.sqrt(global) - ref) <= 1e-3 * ref, "global norm");
  }
}
