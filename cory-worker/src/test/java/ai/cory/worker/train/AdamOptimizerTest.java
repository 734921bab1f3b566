package ai.cory.worker.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.config.OptimizerSettings;
import ai.cory.common.config.OptimizerSettings.EpsilonConvention;
import ai.cory.common.cuda.EmulatedGpu;
import ai.cory.common.model.CausalLm;
import ai.cory.common.model.ForwardOptions;
import ai.cory.common.model.ModelConfig;
import ai.cory.common.model.TokenBatch;
import ai.cory.common.model.Workspace;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * ND4J's Adam updater as used by {@link AdamOptimizer} against a hand-written double-precision
 * transcription of PyTorch's {@code torch.optim.Adam} (no weight decay, no amsgrad):
 * <pre>
 *   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
 *   p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
 * </pre>
 * Small gradients (|g| ~ 1e-6) make epsilon matter, so the two epsilon conventions are told
 * apart.
 */
final class AdamOptimizerTest {
  private static final int P = 257;
  private static final int STEPS = 6;
  private static final double LR = 1e-3;

  /** PyTorch's Adam in double on the same gradient sequence. */
  private static double[] torchAdam(double[] p0, double[][] grads, double b1, double b2, double eps) {
    double[] p = p0.clone();
    double[] m = new double[p.length];
    double[] v = new double[p.length];
    for (int t = 1; t <= grads.length; t++) {
      for (int i = 0; i < p.length; i++) {
        double g = grads[t - 1][i];
        m[i] = b1 * m[i] + (1 - b1) * g;
        v[i] = b2 * v[i] + (1 - b2) * g * g;
        double mHat = m[i] / (1 - Math.pow(b1, t));
        double vHat = v[i] / (1 - Math.pow(b2, t));
        p[i] -= LR * mHat / (Math.sqrt(vHat) + eps);
      }
    }
    return p;
  }

  private static double[][] gradients(long seed, double scale) {
    SplittableRandom rng = new SplittableRandom(seed);
    double[][] g = new double[STEPS][P];
    for (int t = 0; t < STEPS; t++) {
      for (int i = 0; i < P; i++) {
        g[t][i] = scale * rng.nextGaussian();
      }
    }
    return g;
  }

  private static double[] runNd4j(double[] p0, double[][] grads, OptimizerSettings s, DataType type) {
    INDArray params = Nd4j.createFromArray(p0).castTo(type);
    AdamOptimizer adam = new AdamOptimizer(P, type, LR, s);
    for (double[] g : grads) {
      adam.step(params, Nd4j.createFromArray(g).castTo(type));
    }
    assertEquals(STEPS, adam.steps());
    return params.toDoubleVector();
  }

  private static double maxAbsDiff(double[] a, double[] b) {
    double d = 0;
    for (int i = 0; i < a.length; i++) {
      d = Math.max(d, Math.abs(a[i] - b[i]));
    }
    return d;
  }

  @Test
  void torchConventionMatchesPytorchAdamInDouble() {
    double[] p0 = gradients(1, 1.0)[0];
    double[][] g = gradients(2, 1e-6); // |g| comparable to eps: epsilon placement matters
    double[] expected = torchAdam(p0, g, 0.9, 0.999, 1e-8);
    double[] actual = runNd4j(p0, g, OptimizerSettings.defaults(), DataType.DOUBLE);
    double err = maxAbsDiff(expected, actual);
    assertTrue(err < 1e-15, "max |p_nd4j - p_torch| = " + err);
  }

  @Test
  void nd4jConventionDiffersMeasurablyForTinyGradients() {
    double[] p0 = gradients(1, 1.0)[0];
    double[][] g = gradients(2, 1e-6);
    double[] torch = torchAdam(p0, g, 0.9, 0.999, 1e-8);
    double[] nd4j = runNd4j(p0, g, new OptimizerSettings(0.9, 0.999, 1e-8, EpsilonConvention.ND4J), DataType.DOUBLE);
    // ND4J's eps is 1/sqrt(1 - b2^t) ~ 32x larger at t = 1 relative to the torch form
    assertTrue(maxAbsDiff(torch, nd4j) > 1e-6, "conventions should differ");
  }

  @Test
  void float32MatchesToFloatPrecisionAndResetForgetsTheMoments() {
    double[] p0 = gradients(3, 1.0)[0];
    double[][] g = gradients(4, 0.1);
    double[] expected = torchAdam(p0, g, 0.9, 0.999, 1e-8);
    double[] actual = runNd4j(p0, g, OptimizerSettings.defaults(), DataType.FLOAT);
    assertTrue(maxAbsDiff(expected, actual) < 1e-6, "float32 error " + maxAbsDiff(expected, actual));

    // after reset the next step is a first step again: update = lr g / (|g| + eps)
    INDArray params = Nd4j.zeros(DataType.DOUBLE, P);
    AdamOptimizer adam = new AdamOptimizer(P, DataType.DOUBLE, LR, OptimizerSettings.defaults());
    adam.step(params, Nd4j.createFromArray(g[0]));
    adam.step(params, Nd4j.createFromArray(g[1]));
    adam.reset();
    assertEquals(0.0, adam.state().sumNumber().doubleValue());
    INDArray before = params.dup();
    adam.step(params, Nd4j.createFromArray(g[2]));
    double[] delta = before.sub(params).toDoubleVector();
    for (int i = 0; i < P; i++) {
      double firstStep = LR * g[2][i] / (Math.abs(g[2][i]) + 1e-8);
      assertEquals(firstStep, delta[i], 1e-15, "first step after reset, coordinate " + i);
    }
  }

  @Test
  void onADeviceTheStepRunsThereWithTheHostsUpdateAndTheHandoffsKeepBothSidesInStep() {
    ModelConfig cfg = new ModelConfig(ModelConfig.Arch.LLAMA, 32, 16, 1, 2, 1, 24, 16, 1e-5,
        10000.0, false, 1, 2);
    CausalLm host = CausalLm.random(cfg, DataType.FLOAT, 5);
    CausalLm dev = CausalLm.random(cfg, DataType.FLOAT, 5);
    dev.placeOn(EmulatedGpu.open(64L << 20));
    int t = 6; // one backward makes the device gradient buffer the step writes its update into
    Workspace ws = dev.newWorkspace(1, t, true, false);
    dev.forward(ws, TokenBatch.of(new int[][] {{1, 5, 7, 9, 3, 4}}),
        new ForwardOptions(0, t - 1, ForwardOptions.Vocab.NONE, true, true));
    dev.backward(ws, Nd4j.ones(DataType.FLOAT, 1, t - 1), null, Nd4j.ones(DataType.FLOAT, 1, t));
    long n = host.params().layout().size();
    INDArray start = host.params().flat().dup();
    AdamOptimizer onHost = new AdamOptimizer(n, DataType.FLOAT, LR, OptimizerSettings.defaults());
    AdamOptimizer onDevice = new AdamOptimizer(n, DataType.FLOAT, LR, OptimizerSettings.defaults());
    for (int step = 0; step < 6; step++) {
      INDArray g = Nd4j.randn(5L + step, new long[] {n}).castTo(DataType.FLOAT);
      host.grads().flat().assign(g);
      dev.grads().flat().assign(g);
      onHost.step(host);
      onDevice.step(dev);
      if (step == 2) { // what averaging does between steps: moments and weights changed on the host
        assertTrue(maxAbsDiff(onHost.state().toDoubleVector(), onDevice.state().toDoubleVector())
            < 1e-7, "moments come down");
        onHost.state().muli(0.5);
        onDevice.state().muli(0.5);
        host.params().flat().addi(0.01);
        dev.params().flat().addi(0.01);
      }
      if (step == 4) {
        onHost.reset();
        onDevice.reset();
      }
    }
    assertEquals(1, onDevice.steps()); // one step since the reset
    double[] expected = host.params().flat().toDoubleVector();
    double[] actual = dev.params().flat().toDoubleVector(); // down from the device
    assertTrue(maxAbsDiff(start.toDoubleVector(), actual) > 1e-3, "the device stepped");
    assertTrue(maxAbsDiff(expected, actual) < 1e-6, "device vs host " + maxAbsDiff(expected, actual));
    assertTrue(maxAbsDiff(onHost.state().toDoubleVector(), onDevice.state().toDoubleVector()) < 1e-7);

    // read-only hand-outs (checksums, checkpoints) bring newer device values down and leave the
    // device copies current: the host buffers, zeroed here only to tell the two apart, are not
    // uploaded before the next step, whose result then comes down over them
    INDArray g = Nd4j.randn(11L, new long[] {n}).castTo(DataType.FLOAT);
    host.grads().flat().assign(g);
    dev.grads().flat().assign(g);
    onHost.step(host);
    onDevice.step(dev);
    assertTrue(maxAbsDiff(host.params().flat().toDoubleVector(),
        dev.paramsToRead().flat().toDoubleVector()) < 1e-6);
    assertTrue(maxAbsDiff(onHost.state().toDoubleVector(),
        onDevice.stateToRead().toDoubleVector()) < 1e-7);
    dev.paramsToRead().flat().assign(0);
    onDevice.stateToRead().assign(0);
    host.grads().flat().assign(g);
    dev.grads().flat().assign(g);
    onHost.step(host);
    onDevice.step(dev);
    assertTrue(maxAbsDiff(host.params().flat().toDoubleVector(),
        dev.params().flat().toDoubleVector()) < 1e-6, "the device copy stayed current");
    assertTrue(maxAbsDiff(onHost.state().toDoubleVector(), onDevice.state().toDoubleVector())
        < 1e-7, "the device moments stayed current");
  }
}
