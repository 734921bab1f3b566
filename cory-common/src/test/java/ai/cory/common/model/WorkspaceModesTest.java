package ai.cory.common.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * An inference workspace (layer buffers shared across layers, residual updated in place, the
 * vocabulary head run in blocks of a few rows) computes exactly what a training workspace
 * computes: log-probs, log-sum-exp, entropy, KL against a reference and values, on a padded
 * batch and a column range, for GPT-2 and Llama.
 */
class WorkspaceModesTest {
  @Test
  void inferenceInBlocksEqualsTraining() {
    for (ModelConfig cfg : new ModelConfig[] {ModelGradientTest.tinyGpt2(),
        ModelGradientTest.tinyLlama(false)}) {
      CausalLm lm = CausalLm.random(cfg, DataType.DOUBLE, 21);
      CausalLm ref = CausalLm.random(cfg, DataType.DOUBLE, 22);
      SplittableRandom rng = new SplittableRandom(4);
      int[][] tokens = new int[3][7];
      for (int[] row : tokens) {
        for (int t = 0; t < row.length; t++) {
          row[t] = rng.nextInt(cfg.vocabSize());
        }
      }
      int[][] mask = {{0, 0, 1, 1, 1, 1, 1}, {1, 1, 1, 1, 1, 0, 0}, {1, 1, 1, 1, 1, 1, 1}};
      TokenBatch batch = TokenBatch.of(tokens, mask);
      ForwardOptions opt = new ForwardOptions(2, 6, ForwardOptions.Vocab.NONE, true, true);
      ForwardOptions refOpt = new ForwardOptions(2, 6, ForwardOptions.Vocab.LOG_PROBS, false,
          false);
      INDArray refBlock = ref.forward(ref.newWorkspace(3, 7, false, true), batch, refOpt).vocab()
          .dup();
      ForwardResult a = lm.forward(lm.newWorkspace(3, 7, true, false), batch, opt, refBlock);
      Workspace blocks = new Workspace(cfg, DataType.DOUBLE, 3, 7, false, false, 5);
      ForwardResult b = lm.forward(blocks, batch, opt, refBlock);
      for (String what : new String[] {"logp", "logsumexp", "entropy", "kl", "values"}) {
        INDArray x = pick(a, what);
        INDArray y = pick(b, what);
        assertTrue(x.sumNumber().doubleValue() != 0, what + " all zero");
        assertTrue(x.equalsWithEps(y, 1e-12), cfg.arch() + " " + what + ": " + x + " vs " + y);
      }
      // Columns outside [2, 6) stay zero; the KL of a model against itself is zero.
      assertEquals(0.0, a.logp().getDouble(0, 1));
      ForwardResult self = lm.forward(blocks, batch, opt,
          lm.forward(lm.newWorkspace(3, 7, false, true), batch, refOpt).vocab().dup());
      assertEquals(0.0, self.kl().amaxNumber().doubleValue(), 1e-12);
      // Returning the whole block needs a workspace that can hold it.
      assertThrows(IllegalArgumentException.class, () -> lm.forward(blocks, batch, refOpt));
    }
  }

  private static INDArray pick(ForwardResult r, String what) {
    return switch (what) {
      case "logp" -> r.logp();
      case "logsumexp" -> r.logsumexp();
      case "entropy" -> r.entropy();
      case "kl" -> r.kl();
      default -> r.values();
    };
  }
}
