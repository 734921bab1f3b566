package ai.cory.worker.spark;

import ai.cory.common.task.TaskPrompt;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One worker's share of an iteration's batch, shipped to its barrier task: rows
 * {@code [firstGlobalRow, firstGlobalRow + prompts.size())} of the batch. A few KB (query texts
 * and token ids), never tensors.
 *
 * @param rank           the worker (barrier task partition) the shard belongs to
 * @param firstGlobalRow index of the first prompt in the whole batch; sampling draws depend on
 *                       the global row, so every sharding samples the same tokens
 * @param prompts        this worker's queries, {@code batch-size / W} of them
 */
public record QueryShard(int rank, long firstGlobalRow, List<Prompt> prompts) implements Serializable {
  private static final long serialVersionUID = 1L;

  public QueryShard {
    if (rank < 0 || firstGlobalRow < 0) {
      throw new IllegalArgumentException("rank and firstGlobalRow must be >= 0, got " + rank + ", " + firstGlobalRow);
    }
    prompts = List.copyOf(Objects.requireNonNull(prompts, "prompts"));
    if (prompts.isEmpty()) {
      throw new IllegalArgumentException("shard of rank " + rank + " has no prompt");
    }
  }

  /**
   * Cuts a batch into {@code workers} equal contiguous shards, rank r taking rows
   * {@code [r B / W, (r + 1) B / W)}.
   */
  public static List<QueryShard> split(List<TaskPrompt> batch, int workers) {
    if (workers < 1 || batch.size() % workers != 0) {
      throw new IllegalArgumentException("a batch of " + batch.size() + " cannot be split over " + workers
          + " workers");
    }
    int per = batch.size() / workers;
    List<QueryShard> shards = new ArrayList<>(workers);
    for (int r = 0; r < workers; r++) {
      List<Prompt> rows = new ArrayList<>(per);
      for (TaskPrompt p : batch.subList(r * per, (r + 1) * per)) {
        rows.add(Prompt.of(p));
      }
      shards.add(new QueryShard(r, (long) r * per, rows));
    }
    return shards;
  }

  /** The prompts as the trainer takes them. */
  public List<TaskPrompt> taskPrompts() {
    List<TaskPrompt> out = new ArrayList<>(prompts.size());
    for (Prompt p : prompts) {
      out.add(p.toTaskPrompt());
    }
    return out;
  }

  /**
   * A {@link TaskPrompt} in serializable form.
   *
   * @param index        dataset index of the example
   * @param query        the task query text
   * @param prompt       the pioneer's prompt text
   * @param promptTokens (T) the pioneer's prompt tokens
   * @param groundTruth  reference answer or null
   */
  public record Prompt(long index, String query, String prompt, int[] promptTokens, String groundTruth)
      implements Serializable {
    private static final long serialVersionUID = 1L;

    public Prompt {
      Objects.requireNonNull(query, "query");
      Objects.requireNonNull(prompt, "prompt");
      Objects.requireNonNull(promptTokens, "promptTokens");
    }

    /** The serializable copy of {@code p}. */
    public static Prompt of(TaskPrompt p) {
      return new Prompt(p.index(), p.query(), p.prompt(), p.promptTokens().clone(), p.groundTruth());
    }

    /** Back to the task API. */
    public TaskPrompt toTaskPrompt() {
      return new TaskPrompt(index, query, prompt, promptTokens.clone(), groundTruth);
    }
  }
}
