package ai.cory.common.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.io.FileSink;
import ai.cory.common.io.LocalFileSource;
import ai.cory.common.io.SafeTensors;
import ai.cory.common.model.ModelConfig.Arch;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The one Hugging Face export: the language model under transformers' names alone in
 * {@code model.safetensors}, TRL's value head beside it, the tokenizer files copied, and the
 * directory read back whole (value head included) by {@link HfCheckpoint}.
 */
final class HfExportTest {
  private static final ModelConfig LLAMA = new ModelConfig(Arch.LLAMA, 64, 16, 2, 2, 1, 48, 32, 1e-6, 10000.0, false,
      1, 2);

  @TempDir
  Path tmp;

  private static FileSink sink(Path dir) {
    return new FileSink() {
      @Override
      public OutputStream create(String name) throws IOException {
        Files.createDirectories(dir);
        return Files.newOutputStream(dir.resolve(name));
      }

      @Override
      public String describe(String name) {
        return dir.resolve(name).toString();
      }
    };
  }

  @Test
  void writesTheLanguageModelAloneTheValueHeadBesideAndReadsBackExactly() throws IOException {
    Path source = tmp.resolve("source");
    Files.createDirectories(source);
    Files.writeString(source.resolve("tokenizer.json"), "{\"model\": {}}");
    Files.writeString(source.resolve("config.json"), "{\"not\": \"copied: the export writes its own\"}");
    CausalLm model = CausalLm.random(LLAMA, DataType.FLOAT, 7);
    model.params().get(ParamLayout.VALUE_BIAS).assign(0.625);
    Path out = tmp.resolve("agent");

    List<String> written = HfExport.write(sink(out), model.params(), new LocalFileSource(source));

    assertEquals(List.of("config.json", "model.safetensors", "value_head.safetensors", "tokenizer.json"), written);
    SafeTensors lm = SafeTensors.open(new LocalFileSource(out), HfExport.MODEL_FILE);
    Set<String> expected = new TreeSet<>(model.params().names());
    expected.removeAll(List.of(ParamLayout.VALUE_WEIGHT, ParamLayout.VALUE_BIAS));
    assertEquals(expected, new TreeSet<>(lm.names()), "Hugging Face names only: no unexpected keys in transformers");
    assertTrue(lm.names().contains("model.embed_tokens.weight"), lm.names().toString());
    SafeTensors head = SafeTensors.open(new LocalFileSource(out), HfExport.VALUE_HEAD_FILE);
    assertEquals(Set.of(ParamLayout.VALUE_WEIGHT, ParamLayout.VALUE_BIAS), new TreeSet<>(head.names()));
    assertEquals("{\"model\": {}}", Files.readString(out.resolve("tokenizer.json")));

    CausalLm back = HfCheckpoint.load(new LocalFileSource(out), DataType.FLOAT, 99);
    assertEquals(LLAMA, back.config());
    assertArrayEquals(model.params().flat().data().asFloat(), back.params().flat().data().asFloat(),
        "every parameter, the value head included (not re-initialised from seed 99)");
  }

  @Test
  void loraAgentsExportAsPeftAdaptersAndMergedModelsThatLoadBackWithTheSameLogits() throws IOException {
    CausalLm base = FrozenBase.pack(CausalLm.random(LLAMA, DataType.FLOAT, 3), BaseDtype.NF4);
    CausalLm agent = base.withAdapters(LoraSpec.of(2, 4, List.of("q_proj", "down_proj"), LLAMA.arch()), 5);
    agent.params().flat().addi(Nd4j.randn(DataType.FLOAT, agent.params().flat().length())
        .muli(0.05));
    Path peft = tmp.resolve("peft");
    List<String> written = HfExport.write(sink(peft), agent.params(), null);
    assertEquals(List.of(PeftExport.CONFIG_FILE, PeftExport.ADAPTER_FILE, HfExport.VALUE_HEAD_FILE), written);
    SafeTensors st = SafeTensors.open(new LocalFileSource(peft), PeftExport.ADAPTER_FILE);
    assertTrue(st.contains("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"));
    assertArrayEquals(new long[] {LLAMA.hidden(), 2},
        st.info("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight").shape());
    assertArrayEquals(new long[] {2, LLAMA.intermediate()},
        st.info("base_model.model.model.layers.1.mlp.down_proj.lora_A.weight").shape());
    Parameters back = agent.params().zerosLike();
    assertTrue(PeftExport.read(new LocalFileSource(peft), back));
    assertEquals(agent.params().flat(), back.flat());

    Path merged = tmp.resolve("merged");
    HfExport.write(sink(merged), agent.merged(), null);
    CausalLm loaded = HfCheckpoint.load(new LocalFileSource(merged), DataType.FLOAT, 0);
    int[][] tokens = {{1, 2, 3, 4, 5}};
    ForwardOptions opt = new ForwardOptions(0, 5, ForwardOptions.Vocab.LOGITS, false, true);
    ForwardResult a = agent.forward(agent.newWorkspace(1, 5, false, true), TokenBatch.of(tokens, null), opt);
    ForwardResult b = loaded.forward(loaded.newWorkspace(1, 5, false, true), TokenBatch.of(tokens, null), opt);
    assertTrue(a.vocab().sub(b.vocab()).amaxNumber().doubleValue() < 1e-4, "merged export's logits");
    assertTrue(a.values().sub(b.values()).amaxNumber().doubleValue() < 1e-5, "merged export's values");
  }
}
