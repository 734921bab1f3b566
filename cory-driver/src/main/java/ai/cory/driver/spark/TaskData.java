package ai.cory.driver.spark;

import ai.cory.common.config.Settings;
import ai.cory.common.config.TaskSettings;
import ai.cory.common.io.FileSourceResolver;
import ai.cory.common.sampling.CounterRng;
import ai.cory.common.task.Gsm8kPrompts;
import ai.cory.common.task.ImdbQueries;
import ai.cory.common.task.TaskPrompt;
import ai.cory.common.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;

/**
 * The task's queries as pioneer prompts (CORY.md section 5), read once on the driver from
 * {@code cory.task.data}. Fails before training when the file is missing or malformed (file and
 * line named), when no example is left, or when a prompt plus the longest generation cannot fit
 * the model's context.
 */
public final class TaskData {
  /** Salt of the IMDB query-length stream. */
  private static final long QUERY_LENGTH_STREAM = 0x51_4C_45_4EL;

  private TaskData() {}

  /**
   * @param settings  the run settings
   * @param tokenizer the model's tokenizer
   * @param files     opens {@code cory.task.data}
   * @param context   the model's context length in tokens
   */
  public static List<TaskPrompt> load(Settings settings, Tokenizer tokenizer, FileSourceResolver files, int context)
      throws IOException {
    List<TaskPrompt> prompts = read(settings, tokenizer, files);
    checkPrompts(settings, prompts, files.file(settings.task().data()).describe(), context);
    return prompts;
  }

  /** The prompts of {@code cory.task.data}, unchecked against the context (see {@link #load}). */
  public static List<TaskPrompt> read(Settings settings, Tokenizer tokenizer, FileSourceResolver files)
      throws IOException {
    TaskSettings task = settings.task();
    FileSourceResolver.FileLocation data = files.file(task.data());
    if (!data.directory().exists(data.name())) {
      throw new IOException("cory.task.data: no such file " + data.describe());
    }
    List<TaskPrompt> prompts;
    try (InputStream in = data.directory().open(data.name(), 0)) {
      prompts = read(settings, task, tokenizer, in, data.describe());
    } catch (IOException e) {
      throw new IOException("cory.task.data: " + e.getMessage(), e);
    }
    return prompts;
  }

  /**
   * The IMDB query builder of a run: review i's query length is drawn from the run seed's
   * query-length stream, so every reader of the dataset cuts the same queries.
   */
  public static ImdbQueries imdbQueries(Settings settings, Tokenizer tokenizer) {
    return new ImdbQueries(settings.task().imdbQueryConfig(), tokenizer,
        CounterRng.deriveSeed(settings.run().seed(), QUERY_LENGTH_STREAM));
  }

  /** The GSM8K prompt builder of a run. */
  public static Gsm8kPrompts gsm8kPrompts(Settings settings, Tokenizer tokenizer) {
    TaskSettings task = settings.task();
    return new Gsm8kPrompts(task.gsm8kPioneer(), tokenizer, task.addSpecialTokens());
  }

  /**
   * Fails unless some example is left and every prompt plus the longest generation fits the
   * model's context.
   *
   * @param description where the prompts come from, for the messages
   */
  public static void checkPrompts(Settings settings, List<TaskPrompt> prompts, String description, int context)
      throws IOException {
    if (prompts.isEmpty()) {
      throw new IOException("cory.task.data: " + description + " holds no usable example");
    }
    int longest = settings.generation().maxNewTokens();
    for (TaskPrompt p : prompts) {
      if (p.promptTokens().length + longest > context) {
        throw new IllegalArgumentException("cory.task.data: example " + p.index() + " of " + description
            + " has a prompt of " + p.promptTokens().length + " tokens; with up to " + longest
            + " new tokens (cory.generation.max-new-tokens) it exceeds the model's context of " + context);
      }
    }
  }

  private static List<TaskPrompt> read(Settings settings, TaskSettings task, Tokenizer tokenizer, InputStream in,
      String description) throws IOException {
    return switch (task.type()) {
      case IMDB -> imdbQueries(settings, tokenizer)
          .queries(limit(ImdbQueries.readReviews(in, description, task.imdbQueryConfig()), task.maxExamples()));
      case GSM8K -> gsm8kPrompts(settings, tokenizer)
          .prompts(limit(Gsm8kPrompts.read(in, description), task.maxExamples()));
    };
  }

  private static <T> List<T> limit(List<T> all, int max) {
    return max > 0 && all.size() > max ? all.subList(0, max) : all;
  }
}
