package ai.cory.common.model;

import ai.cory.common.io.FileSource;
import ai.cory.common.io.FileSourceResolver;
import ai.cory.common.tokenizer.HfTokenizer;
import ai.cory.common.tokenizer.Tokenizer;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * A pretrained model as a run or a command names it ({@code cory.model.path}, {@code --model}):
 * a Hugging Face directory on a local path or any URI the resolver opens, or the built-in
 * {@linkplain DemoModel demo model} ({@value DemoModel#NAME}), which needs no file. Everything that
 * loads a model goes through {@link #of}, so no caller tells the two apart.
 */
public interface ModelSource {
  /** Files a Hugging Face model directory must have for training and generation. */
  List<String> REQUIRED_FILES = List.of(HfConfigReader.CONFIG_FILE, "tokenizer.json");

  /** Where the model comes from, for messages. */
  String describe();

  /**
   * The model's shape, read without the weights (preflight).
   *
   * @throws FileNotFoundException naming a missing required file
   */
  ModelConfig config() throws IOException;

  /** The weights in {@code dataType}; a value head the files lack is initialised from {@code valueHeadSeed}. */
  CausalLm load(DataType dataType, long valueHeadSeed) throws IOException;

  /**
   * The weights as a frozen LoRA base stored in {@code base} ({@link FrozenBase}): streamed and
   * packed tensor by tensor, never whole in float32.
   */
  default CausalLm loadBase(DataType dataType, BaseDtype base, long valueHeadSeed) throws IOException {
    return FrozenBase.pack(load(dataType, valueHeadSeed), base);
  }

  /** The model's tokenizer; close it when it is {@link AutoCloseable}. */
  Tokenizer tokenizer() throws IOException;

  /** The model's directory (its tokenizer files go next to exported agents), or null for a built-in model. */
  FileSource files();

  /** True for a model that needs no file (nothing to resolve, on a cluster or anywhere). */
  static boolean builtIn(String pathOrUri) {
    return DemoModel.NAME.equals(pathOrUri);
  }

  /** The model {@code pathOrUri} names, its files opened through {@code resolver}. */
  static ModelSource of(String pathOrUri, FileSourceResolver resolver) throws IOException {
    return builtIn(pathOrUri) ? DemoModel.SOURCE : new HfDirectory(resolver.directory(pathOrUri));
  }

  /** A Hugging Face model directory: {@code config.json}, safetensors weights, {@code tokenizer.json}. */
  record HfDirectory(FileSource files) implements ModelSource {
    @Override
    public String describe() {
      return files.describe("");
    }

    @Override
    public ModelConfig config() throws IOException {
      for (String required : REQUIRED_FILES) {
        if (!files.exists(required)) {
          throw new FileNotFoundException("not a Hugging Face model directory, missing " + files.describe(required));
        }
      }
      return HfConfigReader.read(files);
    }

    @Override
    public CausalLm load(DataType dataType, long valueHeadSeed) throws IOException {
      return HfCheckpoint.load(files, dataType, valueHeadSeed); // reads config.json itself
    }

    @Override
    public CausalLm loadBase(DataType dataType, BaseDtype base, long valueHeadSeed) throws IOException {
      return FrozenBase.load(files, dataType, base, valueHeadSeed);
    }

    /**
     * The directory's tokenizer, refused when it has ids the model cannot embed (an added token
     * past {@code vocab_size} would index past the embedding table).
     */
    @Override
    public Tokenizer tokenizer() throws IOException {
      HfTokenizer tokenizer = HfTokenizer.load(files); // names a missing tokenizer.json
      ModelConfig model;
      try {
        model = HfConfigReader.read(files);
      } catch (IOException | RuntimeException e) {
        tokenizer.close();
        throw e;
      }
      if (tokenizer.vocabSize() > model.vocabSize()) {
        tokenizer.close();
        throw new IOException(files.describe(HfTokenizer.TOKENIZER_FILE) + " has token ids up to "
            + (tokenizer.vocabSize() - 1) + " but " + files.describe(HfConfigReader.CONFIG_FILE) + " says vocab_size "
            + model.vocabSize() + ": the model cannot embed ids past " + (model.vocabSize() - 1));
      }
      return tokenizer;
    }
  }
}
