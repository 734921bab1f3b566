package ai.cory.worker.eval;

import ai.cory.common.config.GenerationSettings;
import ai.cory.common.tokenizer.Tokenizer;
import ai.cory.worker.train.Agent;
import ai.cory.worker.train.CoryTrainer;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A held-out evaluation during training ({@code cory.eval}): the held-out rows cut into fixed
 * micro-batches, sampled by the W workers with their replicas' agents after the iteration's
 * update. Rank r takes every W-th micro-batch from r; each micro-batch is sampled and scored as
 * one batch, so the rows' tokens do not depend on W. The same seed at every evaluation: the
 * agents are compared over iterations on the same draws.
 *
 * @param batches      every micro-batch of the evaluation, in order
 * @param maxNewTokens most tokens per response
 * @param seed         the sampling seed
 */
public record HeldOutRequest(List<List<EvalSampler.Row>> batches, int maxNewTokens, long seed)
    implements Serializable {
  private static final long serialVersionUID = 1L;

  public HeldOutRequest {
    batches = List.copyOf(batches);
  }

  /** The micro-batches rank {@code rank} of {@code workers} samples. */
  public List<List<EvalSampler.Row>> share(int rank, int workers) {
    List<List<EvalSampler.Row>> mine = new ArrayList<>();
    for (int i = rank; i < batches.size(); i += workers) {
      mine.add(batches.get(i));
    }
    return mine;
  }

  /**
   * Samples and scores this rank's share with each agent of {@code trainer} against its frozen
   * reference; nothing of the agents changes.
   *
   * @return agent key ({@code A}, {@code B}) -> the rows, in the share's order
   */
  public Map<String, List<EvalSampler.Result>> run(CoryTrainer trainer, Tokenizer tokenizer,
      GenerationSettings generation, int rank, int workers) {
    Map<String, List<EvalSampler.Result>> out = new LinkedHashMap<>();
    for (Agent agent : trainer.agents()) {
      EvalSampler sampler = new EvalSampler(agent.policy(), trainer.reference(), tokenizer,
          CoryTrainer.stopIds(tokenizer, agent.policy()), generation.sampling(), maxNewTokens, seed,
          generation.samplerThreads());
      List<EvalSampler.Result> rows = new ArrayList<>();
      for (List<EvalSampler.Row> batch : share(rank, workers)) {
        rows.addAll(sampler.run(batch));
      }
      out.put(agent.id().key(), rows);
    }
    return out;
  }
}
