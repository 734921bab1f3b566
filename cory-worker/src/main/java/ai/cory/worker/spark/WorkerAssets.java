package ai.cory.worker.spark;

import ai.cory.common.config.ModelSettings;
import ai.cory.common.config.Settings;
import ai.cory.common.io.FileSource;
import ai.cory.common.io.FileSourceResolver;
import ai.cory.common.model.CausalLm;
import ai.cory.common.model.ModelSource;
import ai.cory.common.model.ParamLayout;
import ai.cory.common.model.Parameters;
import ai.cory.common.model.PeftExport;
import ai.cory.common.reward.RewardContext;
import ai.cory.common.reward.RewardFactory;
import ai.cory.common.reward.RewardFunction;
import ai.cory.common.tokenizer.Tokenizer;
import ai.cory.worker.store.FileSources;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.util.Objects;
import org.apache.hadoop.conf.Configuration;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * What a worker loads from the settings where it runs (never shipped through Spark), the one
 * loader of a run's inputs: the pretrained model theta_0 named by {@code cory.model.path}
 * ({@link ModelSource}: a Hugging Face directory on a local path or any Hadoop URI, or the
 * built-in demo model), its tokenizer and the task reward. The driver builds the reward with
 * {@link #reward} during preflight too, so a bad reward fails before any executor is requested.
 *
 * @param model      where the model came from (its files go beside exported agents)
 * @param pretrained theta_0 in the configured precision
 * @param tokenizer  the model's tokenizer
 * @param reward     the task reward
 */
public record WorkerAssets(ModelSource model, CausalLm pretrained, Tokenizer tokenizer, RewardFunction reward)
    implements AutoCloseable {

  public WorkerAssets {
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(pretrained, "pretrained");
    Objects.requireNonNull(tokenizer, "tokenizer");
    Objects.requireNonNull(reward, "reward");
  }

  /**
   * Loads the model, tokenizer and reward that {@code settings} name.
   *
   * @param hadoop the FileSystem configuration (the executor's, with {@code spark.hadoop.*})
   * @throws IOException naming the missing or malformed file and its key
   */
  public static WorkerAssets load(Settings settings, Configuration hadoop) throws IOException {
    FileSourceResolver files = FileSources.resolver(hadoop);
    ModelSource model = model(settings, files);
    Tokenizer tokenizer = tokenizer(model);
    try {
      CausalLm pretrained = pretrained(settings, model, files);
      return new WorkerAssets(model, pretrained, tokenizer, reward(settings, files));
    } catch (IOException | RuntimeException e) {
      close(tokenizer);
      throw e;
    }
  }

  /**
   * theta_0 as the run trains it: the whole model in {@code cory.model.dtype} (full fine-tuning),
   * or with LoRA the frozen base stored in {@code cory.model.base-dtype}, carrying the adapters of
   * {@code cory.model.lora.init-from} when set ({@link #initialAdapters}).
   */
  private static CausalLm pretrained(Settings settings, ModelSource model, FileSourceResolver files)
      throws IOException {
    ModelSettings m = settings.model();
    DataType type = m.precision().dataType();
    if (!m.lora().enabled()) {
      return model.load(type, m.valueHeadSeed());
    }
    return model.loadBase(type, m.baseDtype(), m.valueHeadSeed());
  }

  /**
   * The adapters both agents start from: those of {@code cory.model.lora.init-from}, or null for
   * fresh ones (and for full fine-tuning).
   *
   * @throws IOException naming the directory and what does not match
   */
  public Parameters initialAdapters(Settings settings, Configuration hadoop) throws IOException {
    ModelSettings.Lora lora = settings.model().lora();
    if (!lora.enabled() || lora.initFrom() == null) {
      return null;
    }
    Parameters p = Parameters.zeros(ParamLayout.adapters(pretrained.config(), lora.spec(pretrained.config().arch())),
        pretrained.dataType());
    p.initRandom(settings.model().valueHeadSeed()); // a value head the directory may lack
    FileSource dir = FileSources.resolver(hadoop).directory(lora.initFrom());
    try {
      PeftExport.read(dir, p);
    } catch (IllegalArgumentException | FileNotFoundException e) {
      throw new IOException("cory.model.lora.init-from: " + e.getMessage(), e);
    }
    return p;
  }

  /** The model {@code cory.model.path} names, its required files checked. */
  public static ModelSource model(Settings settings, FileSourceResolver files) throws IOException {
    ModelSource model = ModelSource.of(settings.model().path(), files);
    try {
      model.config();
    } catch (FileNotFoundException e) {
      throw new FileNotFoundException("cory.model.path: " + e.getMessage());
    }
    return model;
  }

  /** The tokenizer of {@code cory.model.path} alone (reading prompts needs no weights). */
  public static Tokenizer loadTokenizer(Settings settings, Configuration hadoop) throws IOException {
    return tokenizer(ModelSource.of(settings.model().path(), FileSources.resolver(hadoop)));
  }

  private static Tokenizer tokenizer(ModelSource model) throws IOException {
    try {
      return model.tokenizer();
    } catch (FileNotFoundException e) {
      throw new FileNotFoundException("cory.model.path: " + e.getMessage());
    }
  }

  /**
   * The task reward {@code cory.reward} describes, its files read through {@code files}.
   *
   * @throws IllegalArgumentException naming {@code cory.reward} and what is wrong
   */
  public static RewardFunction reward(Settings settings, FileSourceResolver files) {
    try {
      return RewardFactory.create(settings.reward().config(), new RewardContext(files));
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("cory.reward: " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    close(tokenizer);
  }

  /** Releases a tokenizer's native handle (the Hugging Face tokenizer has one). */
  public static void close(Tokenizer tokenizer) {
    if (tokenizer instanceof AutoCloseable c) {
      try {
        c.close();
      } catch (Exception e) {
        throw new IllegalStateException("closing the tokenizer failed", e);
      }
    }
  }
}
