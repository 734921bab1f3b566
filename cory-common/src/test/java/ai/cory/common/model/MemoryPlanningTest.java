package ai.cory.common.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.lang.reflect.RecordComponent;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The memory plan's sizes against the buffers really allocated (every span of a workspace or KV
 * cache, found by reflection, each allocation counted once), and activation recomputation
 * against keeping every block's activations: the same gradients bit for bit with fewer bytes.
 */
class MemoryPlanningTest {
  @Test
  void plannedWorkspaceBytesAreTheAllocatedBytes() throws Exception {
    for (ModelConfig cfg : List.of(ModelGradientTest.tinyGpt2Untied(), ModelGradientTest.tinyLlama(false))) {
      for (boolean[] mode : new boolean[][] {{true, false, false}, {true, false, true}, {false, false, false},
          {false, true, false}}) {
        Workspace ws = new Workspace(cfg, DataType.FLOAT, 3, 9, mode[0], mode[1], mode[2]);
        long[] planned = Workspace.plannedBytes(cfg, DataType.FLOAT, 3, 9, mode[0], mode[1], mode[2]);
        assertEquals(allocatedBytes(ws), planned[0] + planned[1], cfg.arch() + " training=" + mode[0]
            + " fullVocab=" + mode[1] + " recompute=" + mode[2]);
      }
      KvCache cache = new KvCache(cfg, DataType.FLOAT, 3, 11);
      assertEquals(allocatedBytes(cache), KvCache.plannedBytes(cfg, DataType.FLOAT, 3, 11), cfg.arch() + " cache");
    }
    ModelConfig llama = ModelGradientTest.tinyLlama(false);
    for (BaseDtype d : BaseDtype.values()) {
      CausalLm base = FrozenBase.random(llama, DataType.FLOAT, d, 1);
      assertEquals(FrozenBase.bytes(base), FrozenBase.plannedBytes(llama, DataType.FLOAT, d), d.toString());
    }
  }

  @Test
  void recomputedActivationsGiveTheSameGradientsBitForBit() {
    for (ModelConfig cfg : List.of(ModelGradientTest.tinyGpt2(), ModelGradientTest.tinyLlama(false))) {
      CausalLm full = CausalLm.random(cfg, DataType.FLOAT, 2);
      CausalLm agent = FrozenBase.pack(full, BaseDtype.INT8).withAdapters(LoraSpec.of(2, 4, List.of(), cfg.arch()), 3);
      agent.params().flat().addi(Nd4j.randn(DataType.FLOAT, agent.params().flat().length()).muli(0.1));
      for (CausalLm model : List.of(full, agent)) {
        int[][] tokens = {{1, 2, 3, 4, 5, 6}, {6, 5, 4, 3, 2, 1}};
        INDArray dLogp = Nd4j.randn(DataType.FLOAT, 2, 5);
        INDArray dValues = Nd4j.randn(DataType.FLOAT, 2, 6);
        INDArray[] grads = new INDArray[2];
        for (int k = 0; k < 2; k++) {
          Workspace ws = model.newWorkspace(2, 6, true, false, k == 1);
          assertEquals(k == 1, ws.recomputes());
          model.forward(ws, TokenBatch.of(tokens, null), ForwardOptions.logprobsAndValues(0, 6));
          model.zeroGrad();
          model.backward(ws, dLogp, null, dValues);
          grads[k] = model.grads().flat().dup();
        }
        assertEquals(grads[0], grads[1], cfg.arch() + (model == agent ? " LoRA" : " full"));
        assertTrue(grads[0].norm2Number().doubleValue() > 0);
      }
    }
    long kept = Workspace.plannedBytes(ModelConfig.gpt2Small(), DataType.FLOAT, 8, 128, true, false, false)[0];
    long recomputed = Workspace.plannedBytes(ModelConfig.gpt2Small(), DataType.FLOAT, 8, 128, true, false, true)[0];
    assertTrue(recomputed < kept / 3, kept + " -> " + recomputed);
  }

  /** Bytes of every distinct ND4J allocation a span field (or record, or array of them) of {@code o} holds. */
  private static long allocatedBytes(Object o) throws Exception {
    Map<Object, Long> bases = new IdentityHashMap<>();
    collect(o, bases);
    return bases.values().stream().mapToLong(Long::longValue).sum();
  }

  private static void collect(Object o, Map<Object, Long> bases) throws Exception {
    if (o == null) {
      return;
    }
    if (o instanceof Span s) {
      bases.put(s.base, s.whole().length * s.elementBytes());
    } else if (o instanceof Object[] arr) {
      for (Object x : arr) {
        collect(x, bases);
      }
    } else if (o instanceof Record r) {
      for (RecordComponent c : r.getClass().getRecordComponents()) {
        collect(c.getAccessor().invoke(r), bases);
      }
    } else if (o instanceof Workspace || o instanceof KvCache) {
      for (Field f : o.getClass().getDeclaredFields()) {
        if (!Modifier.isStatic(f.getModifiers())) {
          f.setAccessible(true);
          collect(f.get(o), bases);
        }
      }
    }
  }
}
