package ai.cory.common.config;

import java.io.Serializable;

/**
 * {@code cory.eval}: held-out evaluation during training ({@code bin/cory eval}'s measures for
 * each agent, into {@code metrics.jsonl} as {@code eval/<agent>/<measure>}).
 *
 * @param every   evaluate after every {@code every}-th iteration and after the last; 0 = never
 * @param prompts held-out prompts per evaluation (the first ones of the held-out data)
 * @param data    the held-out data, or null for the task's own: IMDB {@code cory.task.data}'s
 *                {@code test} split, GSM8K the {@code test.jsonl} beside a {@code train.jsonl}
 */
public record EvalSettings(int every, int prompts, String data) implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Whether the evaluation runs after iteration {@code k} of a run of {@code iterations}. */
  public boolean after(long k, int iterations) {
    return every > 0 && ((k + 1) % every == 0 || k == iterations - 1);
  }

  /**
   * The held-out data of a task: {@link #data} when set, else the task's own file (IMDB; its
   * test split is chosen by the reader) or GSM8K's {@code test.jsonl} beside {@code train.jsonl}.
   *
   * @return the location, or null when it cannot be derived (GSM8K data not named train.jsonl)
   */
  public String dataFor(TaskSettings task) {
    if (data != null) {
      return data;
    }
    return switch (task.type()) {
      case IMDB -> task.data();
      case GSM8K -> task.data().endsWith("train.jsonl")
          ? task.data().substring(0, task.data().length() - "train.jsonl".length()) + "test.jsonl" : null;
    };
  }
}
