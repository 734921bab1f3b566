package ai.cory.driver.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.config.Settings;
import ai.cory.common.io.LocalFileSource;
import ai.cory.common.model.CausalLm;
import ai.cory.common.model.ModelSource;
import ai.cory.common.model.ParamLayout;
import ai.cory.common.model.Parameters;
import ai.cory.common.model.PeftExport;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * LoRA on an int8 base through the whole runtime (Spark stages, the Aeron ring, checkpoints,
 * export): both agents' KL is exactly 0 at iteration 0 (B = 0), a stopped and resumed run equals
 * the uninterrupted one bit for bit, the 2-worker checkpoint resumed by one worker continues the
 * trajectory within float tolerance, and the exported agents are PEFT adapter directories (PEFT's
 * names and shapes) that load back onto the base (merged exports: {@code HfExportTest}).
 */
final class LoraTrainingTest {
  @RegisterExtension
  static final LocalSpark SPARK = new LocalSpark(2);

  @TempDir
  Path tmp;

  /** The resume test's demo settings with rank-4 LoRA on an int8 base. */
  private static Settings demo(Path runDir, String... overrides) throws Exception {
    List<String> all = new ArrayList<>(List.of("model.lora.rank=4", "model.lora.alpha=8", "model.base-dtype=int8",
        "ppo.learning-rate=2e-3"));
    all.addAll(List.of(overrides));
    return CheckpointResumeTest.demo(runDir, all.toArray(new String[0]));
  }

  @Test
  @Timeout(240)
  void loraRunsResumeExactlyScaleOverWorkersAndExportPeftAdapters() throws Exception {
    Path straight = tmp.resolve("straight");
    CheckpointResumeTest.run(demo(straight, "run.iterations=3"), straight);
    List<JsonNode> expected = CheckpointResumeTest.metrics(straight);
    assertEquals(0.0, expected.get(0).get("A/pioneer/objective/kl").asDouble(), "B = 0: the agent is its base");
    assertEquals(0.0, expected.get(0).get("B/observer/objective/kl").asDouble());

    Path resumed = tmp.resolve("resumed");
    CheckpointResumeTest.run(demo(resumed, "run.iterations=2"), resumed);
    String second = CheckpointResumeTest.run(demo(resumed, "run.iterations=3"), resumed);
    assertTrue(second.contains("resuming after iteration 1"), second);
    List<JsonNode> actual = CheckpointResumeTest.metrics(resumed);
    for (int k = 0; k < 3; k++) {
      assertEquals(expected.get(k), actual.get(k), "iteration " + k);
    }
    for (String agent : List.of("A", "B")) {
      Map<String, float[]> a = SparkTrainingTest.tensors(straight.resolve("final").resolve(agent));
      Map<String, float[]> b = SparkTrainingTest.tensors(resumed.resolve("final").resolve(agent));
      assertEquals(a.keySet(), b.keySet());
      a.forEach((name, values) -> assertArrayEquals(values, b.get(name), agent + " " + name));
    }

    Path elastic = tmp.resolve("elastic");
    CheckpointResumeTest.run(demo(elastic, "run.iterations=2"), elastic);
    CheckpointResumeTest.run(demo(elastic, "run.iterations=3", "workers=1"), elastic);
    double worst = CheckpointResumeTest.largestRelativeDifference(expected.get(2),
        CheckpointResumeTest.metrics(elastic).get(2));
    assertTrue(worst < 1e-4, "LoRA iteration 2 on 1 worker vs 2: largest metric difference " + worst);

    // the export: PEFT's adapter directory, names and shapes, loading back onto the base
    Path exported = straight.resolve("final/A");
    JsonNode config = new ObjectMapper().readTree(exported.resolve(PeftExport.CONFIG_FILE).toFile());
    assertEquals("LORA", config.get("peft_type").asText());
    assertEquals(4, config.get("r").asInt());
    assertEquals(8, config.get("lora_alpha").asInt());
    Settings s = demo(straight, "run.iterations=3");
    CausalLm base = ModelSource.of(s.model().path(), null).loadBase(DataType.FLOAT, s.model().baseDtype(), 0);
    Parameters adapters = Parameters.zeros(ParamLayout.adapters(base.config(), s.model().lora().spec(base.config().arch())),
        DataType.FLOAT);
    assertTrue(PeftExport.read(new LocalFileSource(exported), adapters), "value head read back");
    String first = adapters.names().get(0);
    assertTrue(first.startsWith("base_model.model.") && first.endsWith(".lora_A.weight"), first);
    assertEquals(4, adapters.get(first).size(0));
    assertTrue(Files.isRegularFile(exported.resolve(PeftExport.ADAPTER_FILE)));
  }
}
