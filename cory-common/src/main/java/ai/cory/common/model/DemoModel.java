package ai.cory.common.model;

import ai.cory.common.io.FileSource;
import ai.cory.common.tokenizer.ByteTokenizer;
import ai.cory.common.tokenizer.Tokenizer;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The self-contained demo model: a 2-layer GPT-2 over bytes (vocab 258: 256 bytes, BOS, EOS),
 * 64 wide, random weights from a fixed seed, with {@link ByteTokenizer}. It produces noise, but
 * it exercises every code path (generation, training, the distributed runtime) on a machine
 * without model files. A model path equal to {@link #NAME} selects it wherever a Hugging Face
 * model directory is expected: {@link ModelSource#of} knows it as {@link #SOURCE}.
 */
public final class DemoModel {
  /** The model path that selects the demo model. */
  public static final String NAME = "demo";
  /** Seed of the demo model's random weights: every process builds the same model. */
  public static final long SEED = 20241023;

  private DemoModel() {}

  /** The demo model's shape. */
  public static ModelConfig config() {
    return new ModelConfig(ModelConfig.Arch.GPT2, ByteTokenizer.VOCAB_SIZE, 64, 2, 4, 4, 256, 512,
        1e-5, 0, true, ByteTokenizer.BOS, ByteTokenizer.EOS);
  }

  /** The demo model as a {@link ModelSource}. */
  public static final ModelSource SOURCE = new ModelSource() {
    @Override
    public String describe() {
      return "the built-in demo model";
    }

    @Override
    public ModelConfig config() {
      return DemoModel.config();
    }

    @Override
    public CausalLm load(DataType dataType, long valueHeadSeed) {
      return create(dataType);
    }

    @Override
    public Tokenizer tokenizer() {
      return new ByteTokenizer();
    }

    @Override
    public FileSource files() {
      return null;
    }
  };

  /** The demo model with weights of {@code dataType}, identical in every process. */
  public static CausalLm create(DataType dataType) {
    return CausalLm.random(config(), dataType, SEED);
  }
}
