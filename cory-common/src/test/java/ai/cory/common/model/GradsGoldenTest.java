package ai.cory.common.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.testing.SharedAssets;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * FLOAT gradient of the mean next-token cross-entropy of one sequence w.r.t. every tensor,
 * against the float64 PyTorch goldens ({@code golden/*_grads.json}): per tensor the L2 norm and
 * the sum (rel 1e-3, abs 1e-6 for tiny values) and the first 16 values (abs 1e-3 * max |first16|).
 * The tied embedding's gradient includes both the lookup and the output projection.
 */
class GradsGoldenTest {
  @ParameterizedTest
  @CsvSource({"tiny-gpt2, gpt2_tiny_grads.json", "stories260K, llama_stories260K_grads.json"})
  void matchesGolden(String model, String file) {
    JsonNode golden = SharedAssets.golden(file);
    CausalLm lm = Golden.model(model);
    int[] ids = Golden.ints(golden.get("input_ids"));
    int t = ids.length;
    Workspace ws = lm.newWorkspace(1, t, true, false);
    ForwardResult r = lm.forward(ws, TokenBatch.of(new int[][] {ids}),
        ForwardOptions.logprobs(0, t));
    double loss = -r.logp().sumNumber().doubleValue() / (t - 1);
    double refLoss = golden.get("loss_value").asDouble();
    assertTrue(Math.abs(loss - refLoss) <= 1e-5 * refLoss, "loss " + loss + " vs " + refLoss);
    // d loss / d logp = -1 / (T - 1) for every column.
    INDArray dLogp = Nd4j.valueArrayOf(new long[] {1, t - 1}, -1.0 / (t - 1), DataType.FLOAT);
    lm.zeroGrad();
    lm.backward(ws, dLogp, null, null);
    double worstNorm = 0;
    double worstFirst = 0;
    int checked = 0;
    for (JsonNode p : golden.get("params")) {
      String name = p.get("name").asText();
      INDArray g = lm.grads().get(name);
      long[] shape = new long[p.get("shape").size()];
      for (int i = 0; i < shape.length; i++) {
        shape[i] = p.get("shape").get(i).asLong();
      }
      assertArrayEquals(shape, g.shape(), name + " shape");
      double norm = g.norm2Number().doubleValue();
      double sum = g.sumNumber().doubleValue();
      worstNorm = Math.max(worstNorm, relCheck(name + " l2_norm", norm,
          p.get("l2_norm").asDouble()));
      relCheck(name + " sum", sum, p.get("sum").asDouble());
      double[] first = Golden.doubles(p.get("first16"));
      double maxAbs = 0;
      for (double v : first) {
        maxAbs = Math.max(maxAbs, Math.abs(v));
      }
      INDArray flat = g.reshape(g.length());
      for (int i = 0; i < first.length; i++) {
        double err = Math.abs(flat.getDouble(i) - first[i]);
        assertTrue(err <= 1e-3 * maxAbs + 1e-9, name + " first16[" + i + "]: "
            + flat.getDouble(i) + " vs " + first[i]);
        worstFirst = Math.max(worstFirst, maxAbs == 0 ? 0 : err / maxAbs);
      }
      checked++;
    }
    // Every language-model tensor is covered; the value head is not part of this loss.
    assertEquals(lm.params().names().size() - 2, checked);
    System.out.printf("%s grads: %d tensors, worst norm rel err %.2e, worst first16 err/max %.2e%n",
        model, checked, worstNorm, worstFirst);
  }

  /** rel 1e-3, or abs 1e-6 for tiny references; returns the relative error. */
  private static double relCheck(String what, double actual, double ref) {
    double err = Math.abs(actual - ref);
    assertTrue(err <= 1e-3 * Math.abs(ref) || err <= 1e-6,
        what + ": " + actual + " vs golden " + ref);
    return Math.abs(ref) > 1e-6 ? err / Math.abs(ref) : 0;
  }
}
