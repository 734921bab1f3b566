package ai.cory.worker.train;

import ai.cory.common.config.Settings;
import ai.cory.common.io.FileSource;
import ai.cory.common.io.FileSourceResolver;
import ai.cory.common.model.CausalLm;
import ai.cory.common.reward.RewardContext;
import ai.cory.common.reward.RewardFactory;
import ai.cory.common.reward.RewardFunction;
import ai.cory.common.tokenizer.HfTokenizer;
import ai.cory.worker.store.FileSources;
import java.io.IOException;
import java.util.Objects;
import org.apache.hadoop.conf.Configuration;

/**
 * What a worker loads once from the settings before training: the pretrained model theta_0
 * (Hugging Face layout, local path or Hadoop URI), its tokenizer and the task reward.
 *
 * @param modelDir   where the model was read from (exports copy its config and tokenizer)
 * @param pretrained theta_0 in the configured precision
 * @param tokenizer  the model's tokenizer
 * @param reward     the task reward
 */
public record TrainerAssets(FileSource modelDir, CausalLm pretrained, HfTokenizer tokenizer, RewardFunction reward)
    implements AutoCloseable {

  public TrainerAssets {
    Objects.requireNonNull(modelDir, "modelDir");
    Objects.requireNonNull(pretrained, "pretrained");
    Objects.requireNonNull(tokenizer, "tokenizer");
    Objects.requireNonNull(reward, "reward");
  }

  /** Opens any user-given location through Hadoop FileSystems (or locally for plain paths). */
  public static FileSourceResolver resolver(Configuration hadoop) {
    return pathOrUri -> FileSources.open(pathOrUri, hadoop);
  }

  /**
   * Loads model, tokenizer and reward named by {@code settings}.
   *
   * @throws IOException naming the missing or malformed file
   */
  public static TrainerAssets load(Settings settings, Configuration hadoop) throws IOException {
    FileSourceResolver files = resolver(hadoop);
    String path = settings.model().path();
    FileSource dir = files.directory(path);
    if (!dir.exists("config.json")) {
      throw new IOException("cory.model.path: not a Hugging Face model directory, missing "
          + dir.describe("config.json"));
    }
    HfTokenizer tokenizer = HfTokenizer.load(dir);
    try {
      CausalLm model = CausalLm.load(dir, settings.model().precision().dataType(), settings.model().valueHeadSeed());
      RewardFunction reward;
      try {
        reward = RewardFactory.create(settings.reward().config(), new RewardContext(files));
      } catch (RuntimeException e) {
        throw new IllegalArgumentException("cory.reward: " + e.getMessage(), e);
      }
      return new TrainerAssets(dir, model, tokenizer, reward);
    } catch (IOException | RuntimeException e) {
      tokenizer.close();
      throw e;
    }
  }

  @Override
  public void close() {
    tokenizer.close();
  }
}
