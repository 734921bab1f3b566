package ai.cory.driver.spark;

import ai.cory.common.config.Settings;
import ai.cory.common.task.Gsm8kPrompts;
import ai.cory.common.task.ImdbQueries;
import ai.cory.common.tokenizer.Tokenizer;
import ai.cory.worker.spark.ExecutorEnvironment;
import ai.cory.worker.spark.QueryShard.Prompt;
import ai.cory.worker.spark.WorkerAssets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import org.apache.spark.api.java.function.FlatMapFunction;
import scala.Tuple2;

/**
 * Executor side of reading the prompts: turns one partition of (record fields, dataset index)
 * into pioneer prompts with the run's tokenizer (loaded once per partition from
 * {@code cory.model.path}), through the same task code as the single-JVM reader
 * ({@link TaskData#imdbQueries}, {@link TaskData#gsm8kPrompts}), so both index and cut the same
 * queries. A top-level class holding only Serializable values (ARCHITECTURE.md decision 8).
 *
 * @see PromptDataset
 */
final class PromptBuilder implements FlatMapFunction<Iterator<Tuple2<String[], Long>>, Prompt> {
  private static final long serialVersionUID = 1L;

  private final Settings settings;
  private final String description;

  /**
   * @param settings    the run settings (task, seed, model path)
   * @param description the dataset's location, for error messages
   */
  PromptBuilder(Settings settings, String description) {
    this.settings = Objects.requireNonNull(settings, "settings");
    this.description = Objects.requireNonNull(description, "description");
  }

  @Override
  public Iterator<Prompt> call(Iterator<Tuple2<String[], Long>> rows) throws Exception {
    List<Prompt> out = new ArrayList<>();
    if (!rows.hasNext()) {
      return out.iterator();
    }
    Tokenizer tokenizer = WorkerAssets.loadTokenizer(settings, ExecutorEnvironment.hadoopConfiguration());
    try {
      switch (settings.task().type()) {
        case IMDB -> {
          ImdbQueries queries = TaskData.imdbQueries(settings, tokenizer);
          while (rows.hasNext()) {
            Tuple2<String[], Long> row = rows.next();
            out.add(Prompt.of(queries.query(row._2(), row._1()[0])));
          }
        }
        case GSM8K -> {
          Gsm8kPrompts prompts = TaskData.gsm8kPrompts(settings, tokenizer);
          while (rows.hasNext()) {
            Tuple2<String[], Long> row = rows.next();
            String where = description + " example " + row._2();
            out.add(Prompt.of(prompts.prompt(row._2(), Gsm8kPrompts.example(row._1()[0], row._1()[1], where))));
          }
        }
        default -> throw new IllegalStateException("unknown task " + settings.task().type());
      }
    } finally {
      if (tokenizer instanceof AutoCloseable c) {
        c.close();
      }
    }
    return out.iterator();
  }
}
