package ai.cory.worker.spark;

import ai.cory.common.config.Settings;
import ai.cory.common.io.FileSourceResolver;
import ai.cory.common.model.CausalLm;
import ai.cory.common.model.ModelSource;
import ai.cory.common.tokenizer.Tokenizer;
import ai.cory.worker.eval.EvalSampler;
import ai.cory.worker.store.FileSources;
import ai.cory.worker.train.CoryTrainer;
import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * One executor's share of a held-out evaluation: loads the evaluated model (and the reference,
 * when the KL is measured) once per task and runs {@link EvalSampler} over each micro-batch of
 * the task's partition.
 */
public final class EvalFunction implements FlatMapFunction<Iterator<List<EvalSampler.Row>>, EvalSampler.Result> {
  private static final long serialVersionUID = 1L;

  /**
   * What to evaluate.
   *
   * @param model        the evaluated model: a Hugging Face directory (an exported agent, a base
   *                     model), local path or Hadoop URI
   * @param reference    the model the KL is measured against, or null for no KL
   * @param settings     the run settings: sampling ({@code cory.generation}), dtype
   * @param maxNewTokens most tokens per response
   * @param seed         the sampling seed
   */
  public record Spec(String model, String reference, Settings settings, int maxNewTokens, long seed)
      implements Serializable {
    private static final long serialVersionUID = 1L;
  }

  private final Spec spec;

  public EvalFunction(Spec spec) {
    this.spec = spec;
  }

  @Override
  public Iterator<EvalSampler.Result> call(Iterator<List<EvalSampler.Row>> batches) throws IOException {
    if (!batches.hasNext()) {
      return List.<EvalSampler.Result>of().iterator();
    }
    FileSourceResolver files = FileSources.resolver(ExecutorEnvironment.hadoopConfiguration());
    ModelSource source = ModelSource.of(spec.model(), files);
    Tokenizer tokenizer = source.tokenizer();
    try {
      CausalLm policy = load(source);
      CausalLm reference = spec.reference() == null ? null : load(ModelSource.of(spec.reference(), files));
      if (reference != null && reference.config().vocabSize() != policy.config().vocabSize()) {
        throw new IllegalArgumentException("the reference " + spec.reference() + " has " + reference.config().vocabSize()
            + " tokens in its vocabulary, the evaluated model " + policy.config().vocabSize());
      }
      EvalSampler sampler = new EvalSampler(policy, reference, tokenizer, CoryTrainer.stopIds(tokenizer, policy),
          spec.settings().generation().sampling(), spec.maxNewTokens(), spec.seed(),
          spec.settings().generation().samplerThreads());
      List<EvalSampler.Result> out = new ArrayList<>();
      while (batches.hasNext()) {
        out.addAll(sampler.run(batches.next()));
      }
      return out.iterator();
    } finally {
      WorkerAssets.close(tokenizer);
    }
  }

  private CausalLm load(ModelSource source) throws IOException {
    DataType dtype = spec.settings().model().precision().dataType();
    return source.load(dtype, 0);
  }
}
