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
}
