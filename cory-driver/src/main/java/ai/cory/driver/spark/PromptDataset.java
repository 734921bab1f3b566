package ai.cory.driver.spark;

import ai.cory.common.config.Settings;
import ai.cory.common.config.TaskSettings;
import ai.cory.common.task.Gsm8kPrompts;
import ai.cory.common.task.ImdbQueries;
import ai.cory.common.task.ImdbQueryConfig;
import ai.cory.common.task.TaskPrompt;
import ai.cory.worker.spark.QueryShard.Prompt;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.function.Function;
import org.apache.spark.sql.AnalysisException;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.storage.StorageLevel;
import scala.Tuple2;

/**
 * The task's prompts read as a Spark Dataset from {@code cory.task.data}: JSON Lines (gzip by
 * the {@code .gz} extension) or Parquet ({@code .parquet}), on any Hadoop URI or local path.
 * The records are filtered, indexed in file order and cut into pioneer prompts on the executors
 * ({@link PromptBuilder}) with the same rules as the single-JVM reader ({@link TaskData}), then
 * collected: a prompt is a few hundred bytes (IMDB: at most 8 tokens), the driver hands B of them
 * to each iteration.
 */
public final class PromptDataset {
  /** The column a JSON line that does not parse is kept in. */
  static final String CORRUPT = "_corrupt_record";

  private PromptDataset() {}

  /** File format of a dataset location. */
  enum Format {
    JSON, PARQUET;

    static Format of(String location) {
      String name = location.toLowerCase(Locale.ROOT);
      while (name.endsWith("/")) {
        name = name.substring(0, name.length() - 1);
      }
      return name.endsWith(".parquet") || name.endsWith(".pq") ? PARQUET : JSON;
    }
  }

  /**
   * Every usable prompt of the task, by dataset index.
   *
   * @param context the model's context in tokens: every prompt plus the longest generation
   *                must fit
   * @throws IOException naming the dataset: no usable example, a record without the task's
   *                     fields, or a GSM8K answer without its final number
   */
  public static List<TaskPrompt> load(SparkSession spark, Settings settings, int context) throws IOException {
    TaskSettings task = settings.task();
    String location = task.data();
    List<String> fields = fields(task);
    Dataset<Row> rows = read(spark, location, fields);
    // file order: record r of the file, then example i of the task after filtering
    JavaRDD<String[]> records = rows.javaRDD().zipWithIndex()
        .filter(new Accept(task, fields, location))
        .map(new FieldsOf(task))
        .persist(StorageLevel.MEMORY_AND_DISK()); // read the file once for both passes below
    List<Prompt> collected;
    try {
      JavaPairRDD<String[], Long> indexed = records.zipWithIndex();
      if (task.maxExamples() > 0) {
        indexed = indexed.filter(new Below(task.maxExamples()));
      }
      // a gzip file is one partition: spread the tokenization over every core of the cluster
      int parallelism = Math.max(records.getNumPartitions(), spark.sparkContext().defaultParallelism());
      collected = new ArrayList<>(indexed.repartition(parallelism)
          .mapPartitions(new PromptBuilder(settings, location)).collect());
    } catch (Exception e) { // SparkException (a task failed), thrown undeclared by Scala
      throw new IOException("cory.task.data: reading " + location + " failed: " + rootMessage(e), e);
    } finally {
      records.unpersist(false);
    }
    collected.sort(Comparator.comparingLong(Prompt::index));
    List<TaskPrompt> prompts = new ArrayList<>(collected.size());
    for (Prompt p : collected) {
      prompts.add(p.toTaskPrompt());
    }
    TaskData.checkPrompts(settings, prompts, location, context);
    return prompts;
  }

  /** The record fields the task reads, as strings: IMDB [text, split?], GSM8K [question, answer]. */
  static List<String> fields(TaskSettings task) {
    return switch (task.type()) {
      case IMDB -> task.imdbSplit() == null ? List.of(task.imdbTextField())
          : List.of(task.imdbTextField(), ImdbQueryConfig.SPLIT_FIELD);
      case GSM8K -> List.of(Gsm8kPrompts.QUESTION_FIELD, Gsm8kPrompts.ANSWER_FIELD);
    };
  }

  private static Dataset<Row> read(SparkSession spark, String location, List<String> fields) throws IOException {
    // a plain path is a local file (the rule of every CORY location), not one of the cluster's
    // default file system (HDFS on YARN) as Spark's reader would take it
    String uri = Preflight.hadoopPath(location).toString();
    try {
      Dataset<Row> raw;
      if (Format.of(location) == Format.PARQUET) {
        raw = spark.read().parquet(uri);
      } else {
        List<StructField> schema = new ArrayList<>();
        for (String f : fields) {
          schema.add(DataTypes.createStructField(f, DataTypes.StringType, true));
        }
        // only the task's fields are parsed; a malformed line is kept whole in CORRUPT, and Accept
        // fails naming its position (Spark's FAILFAST message names neither file nor line)
        schema.add(DataTypes.createStructField(CORRUPT, DataTypes.StringType, true));
        raw = spark.read().schema(new StructType(schema.toArray(new StructField[0]))).option("mode", "PERMISSIVE")
            .option("columnNameOfCorruptRecord", CORRUPT).json(uri);
      }
      List<String> have = List.of(raw.columns());
      boolean json = have.contains(CORRUPT);
      Column[] cols = new Column[fields.size() + (json ? 1 : 0)];
      if (json) {
        cols[fields.size()] = functions.col(CORRUPT);
      }
      for (int i = 0; i < fields.size(); i++) {
        if (!have.contains(fields.get(i))) {
          throw new IOException("cory.task.data: " + location + " has no field '" + fields.get(i) + "' (fields: "
              + have + ")");
        }
        cols[i] = functions.col(fields.get(i)).cast(DataTypes.StringType);
      }
      return raw.select(cols);
    } catch (Exception e) {
      if (e instanceof IOException io) {
        throw io;
      }
      if (e instanceof AnalysisException || e.getClass().getName().startsWith("org.apache.spark")) {
        throw new IOException("cory.task.data: cannot read " + location + ": " + rootMessage(e), e);
      }
      throw e;
    }
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t == e ? String.valueOf(e.getMessage()) : e.getMessage() + " (" + t.getMessage() + ")";
  }

  /**
   * Keeps the records the task uses (IMDB: the configured split, reviews passing
   * {@link ImdbQueries#isUsable}); fails on a record missing a field, naming its position.
   */
  static final class Accept implements Function<Tuple2<Row, Long>, Boolean> {
    private static final long serialVersionUID = 1L;
    private final TaskSettings task;
    private final List<String> fields;
    private final String location;

    Accept(TaskSettings task, List<String> fields, String location) {
      this.task = task;
      this.fields = List.copyOf(fields);
      this.location = location;
    }

    @Override
    public Boolean call(Tuple2<Row, Long> record) {
      Row row = record._1();
      if (row.size() > fields.size() && !row.isNullAt(fields.size())) {
        String text = row.getString(fields.size());
        throw new IllegalArgumentException(location + ": record " + record._2() + " (0-based, file order) is not "
            + "JSON: " + (text.length() > 80 ? text.substring(0, 80) + "..." : text));
      }
      if (task.type() == TaskSettings.TaskType.IMDB && task.imdbSplit() != null
          && !task.imdbSplit().equals(row.getString(1))) {
        return false; // another split (or none): not a training review of this run
      }
      for (int i = 0; i < fields.size(); i++) {
        if (row.isNullAt(i)) {
          throw new IllegalArgumentException(location + ": record " + record._2() + " (0-based, file order) has no "
              + "value for field '" + fields.get(i) + "'");
        }
      }
      return task.type() != TaskSettings.TaskType.IMDB || ImdbQueries.isUsable(row.getString(0),
          task.imdbQueryConfig());
    }
  }

  /** The task's field values of an accepted record. */
  static final class FieldsOf implements Function<Tuple2<Row, Long>, String[]> {
    private static final long serialVersionUID = 1L;
    private final int count;

    FieldsOf(TaskSettings task) {
      this.count = task.type() == TaskSettings.TaskType.IMDB ? 1 : 2;
    }

    @Override
    public String[] call(Tuple2<Row, Long> record) {
      String[] out = new String[count];
      for (int i = 0; i < count; i++) {
        out[i] = record._1().getString(i);
      }
      return out;
    }
  }

  /** Dataset indices below {@code max-examples}. */
  static final class Below implements Function<Tuple2<String[], Long>, Boolean> {
    private static final long serialVersionUID = 1L;
    private final long limit;

    Below(long limit) {
      this.limit = limit;
    }

    @Override
    public Boolean call(Tuple2<String[], Long> record) {
      return record._2() < limit;
    }
  }
}
