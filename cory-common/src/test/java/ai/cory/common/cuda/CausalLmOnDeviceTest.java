package ai.cory.common.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.model.Accelerator;
import ai.cory.common.model.BaseDtype;
import ai.cory.common.model.CausalLm;
import ai.cory.common.model.ForwardOptions;
import ai.cory.common.model.ForwardResult;
import ai.cory.common.model.FrozenBase;
import ai.cory.common.model.KvCache;
import ai.cory.common.model.LoraSpec;
import ai.cory.common.model.ModelConfig;
import ai.cory.common.model.TokenBatch;
import ai.cory.common.model.Workspace;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@link CausalLm#placeOn}: the public model API with its passes on a device (the emulated one:
 * every launch validated and carried out in Java) gives what the same model gives on the host,
 * through the host/device protocol the trainer relies on: parameters changed on the host after
 * {@code params()} reach the next device pass, the gradient accumulated on the device comes
 * back with {@code grads()}, {@code zeroGrad()} clears both; KV-cache generation hands back the
 * same logits; host workspaces and caches are refused for a placed model.
 */
class CausalLmOnDeviceTest {
  private static final double TOL = 1e-4;

  private static double rel(INDArray got, INDArray ref) {
    double scale = Math.max(1e-30, ref.castTo(DataType.DOUBLE).amaxNumber().doubleValue());
    return got.castTo(DataType.DOUBLE).sub(ref.castTo(DataType.DOUBLE)).amaxNumber().doubleValue()
        / scale;
  }

  private static CausalLm agent(CausalLm base) {
    CausalLm a = base.withAdapters(LoraSpec.of(4, 8, LoraSpec.LLAMA_MODULES,
        ModelConfig.Arch.LLAMA), 3);
    INDArray flat = a.params().flat();
    flat.addi(Nd4j.rand(DataType.FLOAT, flat.shape()).subi(0.5).muli(0.1)); // B != 0
    return a;
  }

  /** One PPO-like training round: forward with values, backward, a host update, forward again. */
  private static INDArray[] round(CausalLm lm, TokenBatch batch) {
    int t = batch.seq();
    Workspace ws = lm.newWorkspace(2, t, true, false);
    ForwardOptions opt = new ForwardOptions(3, t - 1, ForwardOptions.Vocab.NONE, true, true);
    lm.zeroGrad();
    ForwardResult r = lm.forward(ws, batch, opt);
    // host results are views of the workspace: copied before the next forward
    INDArray[] first = {r.logp().dup(), r.values().dup(), r.entropy().dup()};
    INDArray dLogp = Nd4j.linspace(-1, 1, 2L * (t - 1), DataType.FLOAT).reshape(2, t - 1);
    INDArray dValues = Nd4j.linspace(1, -1, 2L * t, DataType.FLOAT).reshape(2, t);
    lm.backward(ws, dLogp, null, dValues);
    lm.forward(ws, batch, opt);
    lm.backward(ws, dLogp, null, dValues); // accumulates onto the first gradient
    INDArray grads = lm.grads().flat().dup();
    lm.params().flat().subi(lm.grads().flat().mul(1e-2)); // the trainer's update, on the host
    ForwardResult after = lm.forward(ws, batch, opt);
    return new INDArray[] {first[0], first[1], first[2], grads, after.logp().dup()};
  }

  @Test
  void aPlacedLoraAgentOverAPackedBaseTrainsAsOnTheHost() {
    ModelConfig cfg = EngineChecks.llama();
    TokenBatch batch = EngineChecks.batch(cfg.vocabSize());
    CausalLm hostBase = FrozenBase.pack(CausalLm.random(cfg, DataType.FLOAT, 1), BaseDtype.NF4);
    CausalLm devBase = FrozenBase.pack(CausalLm.random(cfg, DataType.FLOAT, 1), BaseDtype.NF4);
    CausalLm host = agent(hostBase);
    CausalLm dev = devBase.withAdapters(host.params().copy());
    Accelerator acc = EmulatedGpu.open(256L << 20);
    dev.placeOn(acc);
    assertTrue(dev.onDevice() && devBase.onDevice());
    INDArray[] h = round(host, batch);
    INDArray[] d = round(dev, batch);
    String[] what = {"logp", "values", "entropy", "gradients", "logp after the update"};
    for (int i = 0; i < h.length; i++) {
      assertTrue(rel(d[i], h[i]) <= TOL, what[i] + ": " + rel(d[i], h[i]));
    }
    dev.zeroGrad();
    assertEquals(0.0, dev.grads().flat().amaxNumber().doubleValue());
  }

  @Test
  void aPlacedWholeModelGeneratesAsOnTheHost() {
    ModelConfig cfg = EngineChecks.gpt2();
    CausalLm host = CausalLm.random(cfg, DataType.FLOAT, 5);
    CausalLm dev = CausalLm.of(host.params().copy());
    dev.placeOn(EmulatedGpu.open(256L << 20));
    int[][] prompts = {{0, 0, 5, 6, 7}, {1, 2, 3, 4, 5}};
    int[][] mask = {{0, 0, 1, 1, 1}, {1, 1, 1, 1, 1}};
    KvCache hc = host.newKvCache(2, 9);
    KvCache dc = dev.newKvCache(2, 9);
    assertTrue(rel(dev.prefill(dc, prompts, mask), host.prefill(hc, prompts, mask)) <= TOL);
    for (int step = 0; step < 3; step++) {
      int[] next = {10 + step, 20 + step};
      assertTrue(rel(dev.decode(dc, next), host.decode(hc, next)) <= TOL, "decode step " + step);
    }
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> dev.prefill(hc, prompts, mask));
    assertTrue(e.getMessage().contains("newKvCache after placeOn"), e.getMessage());
    Workspace hostWs = host.newWorkspace(2, 5, false, false);
    e = assertThrows(IllegalArgumentException.class,
        () -> dev.forward(hostWs, TokenBatch.of(prompts, mask), ForwardOptions.logprobs(0, 5)));
    assertTrue(e.getMessage().contains("newWorkspace after placeOn"), e.getMessage());
    CausalLm f64 = CausalLm.random(cfg, DataType.DOUBLE, 5);
    e = assertThrows(IllegalArgumentException.class, () -> f64.placeOn(EmulatedGpu.open(1 << 20)));
    assertTrue(e.getMessage().contains("float32"), e.getMessage());
  }
}
