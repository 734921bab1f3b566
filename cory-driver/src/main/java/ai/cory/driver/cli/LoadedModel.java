package ai.cory.driver.cli;

import ai.cory.common.model.BaseDtype;
import ai.cory.common.model.CausalLm;
import ai.cory.common.model.DemoModel;
import ai.cory.common.model.ModelSource;
import ai.cory.common.tokenizer.Tokenizer;
import ai.cory.worker.store.FileSources;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * A model and its tokenizer as the CLI resolves them from {@code --model}: a Hugging Face
 * directory (local path or Hadoop URI), or {@value #DEMO}, the self-contained demo model that
 * needs no files. Without {@code --model} the TinyStories model of {@code ../shared} is used
 * when it exists, else the demo model.
 *
 * @param name      what the user asked for (for reports)
 * @param model     the weights, FLOAT
 * @param tokenizer matching tokenizer
 */
public record LoadedModel(String name, CausalLm model, Tokenizer tokenizer) implements AutoCloseable {
  /** Name of the built-in demo model. */
  public static final String DEMO = DemoModel.NAME;
  /** Where {@code bin/cory} finds the shared TinyStories model when {@code --model} is absent. */
  static final Path SHARED_DEFAULT = Path.of("..", "shared", "assets", "models", "stories260K");
  /** Seed of the value head of loaded checkpoints (not used by generation). */
  private static final long VALUE_HEAD_SEED = 0;

  /** {@code --model} value used when the option is absent. */
  public static String defaultModel() {
    return Files.isRegularFile(SHARED_DEFAULT.resolve("config.json"))
        ? SHARED_DEFAULT.toString() : DEMO;
  }

  /** Loads {@code pathOrUri} (a model directory or URI, or the demo model) with float32 weights. */
  public static LoadedModel load(String pathOrUri) throws IOException {
    return load(pathOrUri, BaseDtype.FLOAT32);
  }

  /**
   * Loads {@code pathOrUri} with float32 compute, its projections stored in {@code base} (a
   * frozen base, {@link ModelSource#loadBase}, when not float32).
   */
  public static LoadedModel load(String pathOrUri, BaseDtype base) throws IOException {
    ModelSource source = ModelSource.of(pathOrUri, FileSources.resolver(new Configuration()));
    source.config(); // names a missing config.json or tokenizer.json before anything is read
    Tokenizer tokenizer = source.tokenizer();
    try {
      return new LoadedModel(pathOrUri, source.loadBase(DataType.FLOAT, base, VALUE_HEAD_SEED), tokenizer);
    } catch (IOException | RuntimeException e) {
      if (tokenizer instanceof AutoCloseable c) {
        try {
          c.close();
        } catch (Exception suppressed) {
          e.addSuppressed(suppressed);
        }
      }
      throw e;
    }
  }

  /**
   * Ids that end a generated row: EOS, and BOS when it differs (a model trained on concatenated
   * documents, like llama2.c's TinyStories models, emits BOS where the next story starts; the
   * reference implementation stops there too).
   */
  public int[] stopIds() {
    int eos = tokenizer.eosId() >= 0 ? tokenizer.eosId() : model.config().eosTokenId();
    int bos = tokenizer.bosId() >= 0 ? tokenizer.bosId() : model.config().bosTokenId();
    if (bos >= 0 && bos != eos) {
      return eos >= 0 ? new int[] {eos, bos} : new int[] {bos};
    }
    return eos >= 0 ? new int[] {eos} : new int[0];
  }

  @Override
  public void close() {
    if (tokenizer instanceof AutoCloseable c) {
      try {
        c.close();
      } catch (Exception e) {
        throw new IllegalStateException("closing tokenizer of " + name, e);
      }
    }
  }
}
