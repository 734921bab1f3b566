package ai.cory.worker.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.cory.common.checkpoint.Checkpoint;
import ai.cory.common.checkpoint.CheckpointContents;
import ai.cory.common.checkpoint.CheckpointContents.AgentSnapshot;
import ai.cory.common.checkpoint.CheckpointState;
import ai.cory.common.checkpoint.CheckpointState.AgentState;
import ai.cory.common.io.FileSource;
import ai.cory.common.model.CausalLm;
import ai.cory.common.model.ModelConfig;
import ai.cory.common.model.ModelConfig.Arch;
import ai.cory.common.model.Parameters;
import ai.cory.common.ppo.RunningMoments;
import java.io.IOException;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Small but complete checkpoint contents: agent A a tiny GPT-2, agent B a tiny Llama (GQA,
 * untied head), Adam-like FLOAT buffers (1, 2P) per agent, a DOUBLE buffer and a full state.
 */
final class CheckpointFixtures {
  static final ModelConfig GPT2 = new ModelConfig(Arch.GPT2, 64, 16, 2, 2, 2, 64, 32, 1e-5, 0,
      true, 63, 63);
  static final ModelConfig LLAMA = new ModelConfig(Arch.LLAMA, 64, 16, 2, 2, 1, 48, 32, 1e-6,
      10000.0, false, 1, 2);

  private CheckpointFixtures() {}

  /** A checkpoint of {@code iteration} whose every number depends on {@code seed}. */
  static CheckpointContents contents(long iteration, long seed, FileSource companions) {
    Parameters a = CausalLm.random(GPT2, DataType.FLOAT, seed).params();
    Parameters b = CausalLm.random(LLAMA, DataType.FLOAT, seed + 1).params();
    Map<String, INDArray> buffers = new TreeMap<>();
    buffers.put("A/adam", randomFloats(seed + 2, 1, 2 * a.layout().size())); // (1, 2P) m | v
    buffers.put("B/adam", randomFloats(seed + 3, 1, 2 * b.layout().size()));
    buffers.put("baseline", Nd4j.createFromArray(new double[][] {{seed, Math.PI / seed}, {1e-300, -0.0}})); // (2, 2)
    CheckpointState state = new CheckpointState(iteration,
        Map.of("A", iteration % 2 == 0 ? "pioneer" : "observer", "B", iteration % 2 == 0 ? "observer" : "pioneer"),
        Map.of("A", new AgentState(4 * iteration, 0.2 / (1 + seed), new RunningMoments(0.25, 1.5, 1.2,
                RunningMoments.INITIAL_COUNT + 32 * iteration), Map.of("lr", 1.41e-5)),
            "B", new AgentState(4 * iteration, 0.1, RunningMoments.initial(), Map.of())),
        Map.of("seed", seed),
        Map.of("run", "cory-test"));
    String config = "cory { run { seed = " + seed + ", iterations = 10 } } # résumé ✓\n";
    return new CheckpointContents(state, config,
        Map.of("A", new AgentSnapshot(a, companions), "B", new AgentSnapshot(b, null)), buffers);
  }

  static INDArray randomFloats(long seed, long rows, long cols) {
    SplittableRandom rng = new SplittableRandom(seed);
    float[] values = new float[(int) (rows * cols)];
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) rng.nextGaussian();
    }
    return Nd4j.createFromArray(values).reshape(rows, cols);
  }

  /** The checkpoint holds exactly {@code expected}: state, config text, weights and buffers bit for bit. */
  static void assertHolds(CheckpointContents expected, Checkpoint actual) throws IOException {
    assertEquals(expected.state(), actual.state());
    assertEquals(expected.state().iteration(), actual.iteration());
    assertEquals(expected.resolvedConfig(), actual.resolvedConfig());
    assertEquals(expected.agents().keySet().stream().toList(), actual.agents());
    for (Map.Entry<String, AgentSnapshot> e : expected.agents().entrySet()) {
      Parameters want = e.getValue().weights();
      assertEquals(want.layout().config(), actual.modelConfig(e.getKey()));
      Parameters got = actual.readAgent(e.getKey(), DataType.FLOAT);
      assertArrayEquals(bits(want.flat()), bits(got.flat()),
          "agent " + e.getKey() + " weights and value head");
      Parameters into = want.zerosLike();
      actual.readAgentInto(e.getKey(), into);
      assertArrayEquals(bits(want.flat()), bits(into.flat()));
    }
    assertEquals(expected.buffers().keySet().stream().toList(), actual.bufferNames());
    for (Map.Entry<String, INDArray> e : expected.buffers().entrySet()) {
      INDArray got = actual.readBuffer(e.getKey());
      assertEquals(e.getValue().dataType(), got.dataType(), e.getKey());
      assertArrayEquals(e.getValue().shape(), got.shape(), e.getKey());
      if (got.dataType() == DataType.DOUBLE) {
        assertArrayEquals(bits(e.getValue()), bits(got), e.getKey());
      } else {
        INDArray into = Nd4j.create(got.dataType(), got.shape());
        actual.readBufferInto(e.getKey(), into);
        assertArrayEquals(bits(e.getValue()), bits(into), e.getKey());
      }
    }
  }

  /** Raw IEEE bits of every element (FLOAT widened without rounding), for bit-identity checks. */
  static long[] bits(INDArray a) {
    INDArray flat = a.reshape(a.length());
    long[] out = new long[(int) a.length()];
    if (a.dataType() == DataType.DOUBLE) {
      double[] v = flat.toDoubleVector();
      for (int i = 0; i < v.length; i++) {
        out[i] = Double.doubleToRawLongBits(v[i]);
      }
    } else {
      float[] v = flat.toFloatVector();
      for (int i = 0; i < v.length; i++) {
        out[i] = Float.floatToRawIntBits(v[i]);
      }
    }
    return out;
  }
}
