package ai.cory.worker.spark;

import ai.cory.common.config.Settings;
import ai.cory.common.model.CausalLm;
import ai.cory.common.model.DemoModel;
import ai.cory.common.reward.RewardContext;
import ai.cory.common.reward.RewardFactory;
import ai.cory.common.reward.RewardFunction;
import ai.cory.common.tokenizer.ByteTokenizer;
import ai.cory.common.tokenizer.HfTokenizer;
import ai.cory.common.tokenizer.Tokenizer;
import ai.cory.worker.train.TrainerAssets;
import java.io.IOException;
import java.util.Objects;
import org.apache.hadoop.conf.Configuration;

/**
 * What a worker loads from the settings where it runs (never shipped through Spark): the
 * pretrained model theta_0 read from {@code cory.model.path} (a Hugging Face directory on a local
 * path or any Hadoop URI, or {@link DemoModel#NAME}), its tokenizer and the task reward.
 *
 * @param pretrained theta_0 in the configured precision
 * @param tokenizer  the model's tokenizer
 * @param reward     the task reward
 * @param closer     releases what the tokenizer holds (native memory)
 */
public record WorkerAssets(CausalLm pretrained, Tokenizer tokenizer, RewardFunction reward, AutoCloseable closer)
    implements AutoCloseable {

  public WorkerAssets {
    Objects.requireNonNull(pretrained, "pretrained");
    Objects.requireNonNull(tokenizer, "tokenizer");
    Objects.requireNonNull(reward, "reward");
    Objects.requireNonNull(closer, "closer");
  }

  /**
   * Loads the model, tokenizer and reward that {@code settings} name.
   *
   * @param hadoop the FileSystem configuration (the executor's, with {@code spark.hadoop.*})
   * @throws IOException naming the missing or malformed file
   */
  public static WorkerAssets load(Settings settings, Configuration hadoop) throws IOException {
    if (DemoModel.isDemo(settings.model().path())) {
      RewardFunction reward;
      try {
        reward = RewardFactory.create(settings.reward().config(), new RewardContext(TrainerAssets.resolver(hadoop)));
      } catch (RuntimeException e) {
        throw new IllegalArgumentException("cory.reward: " + e.getMessage(), e);
      }
      return new WorkerAssets(DemoModel.create(settings.model().precision().dataType()), new ByteTokenizer(), reward,
          () -> { });
    }
    TrainerAssets assets = TrainerAssets.load(settings, hadoop);
    return new WorkerAssets(assets.pretrained(), assets.tokenizer(), assets.reward(), assets);
  }

  /** Loads only the tokenizer of {@code cory.model.path} (reading prompts needs no weights). */
  public static Tokenizer loadTokenizer(Settings settings, Configuration hadoop) throws IOException {
    if (DemoModel.isDemo(settings.model().path())) {
      return new ByteTokenizer();
    }
    return HfTokenizer.load(TrainerAssets.resolver(hadoop).directory(settings.model().path()));
  }

  @Override
  public void close() {
    try {
      closer.close();
    } catch (Exception e) {
      throw new IllegalStateException("closing the assets of " + pretrained.config().arch() + " model", e);
    }
  }
}
