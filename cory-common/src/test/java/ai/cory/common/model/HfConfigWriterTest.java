package ai.cory.common.model;



import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.cory.common.io.LocalFileSource;
import ai.cory.common.model.ModelConfig.Arch;
import ai.cory.common.testing.SharedAssets;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

/** config.json written by HfConfigWriter reads back (HfConfigReader) to the same ModelConfig. */
class HfConfigWriterTest {
  @TempDir Path tmp;

  private ModelConfig roundTrip(ModelConfig cfg) throws IOException {
    Path dir = Files.createTempDirectory(tmp, "cfg");
    Files.write(dir.resolve(HfConfigReader.CONFIG_FILE), HfConfigWriter.toJson(cfg, DataType.FLOAT));
    return HfConfigReader.read(new LocalFileSource(dir));
  }

  @Test
  void constructedConfigsRoundTrip() throws IOException {
    ModelConfig gpt2 = new ModelConfig(Arch.GPT2, 64, 16, 2, 2, 2, 48, 32, 1e-5, 0, true, -1, 63);
    ModelConfig llama = new ModelConfig(Arch.LLAMA, 64, 16, 2, 4, 2, 40, 32, 1e-6, 500000.0, false,
        1, -1);
    assertEquals(gpt2, roundTrip(gpt2), "bos -1 is written as null");
    assertEquals(llama, roundTrip(llama), "GQA, untied head, rope theta");
  }

  @Test
  void sharedModelConfigsRoundTrip() throws IOException {
    for (String model : new String[] {"tiny-gpt2", "stories260K"}) {
      ModelConfig cfg = HfConfigReader.read(new LocalFileSource(SharedAssets.model(model)));
      assertEquals(cfg, roundTrip(cfg), model);
    }
  }
}
