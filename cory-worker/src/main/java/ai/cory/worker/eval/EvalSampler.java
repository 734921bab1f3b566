package ai.cory.worker.eval;

import ai.cory.common.model.CausalLm;
import ai.cory.common.model.ForwardOptions;
import ai.cory.common.model.ForwardResult;
import ai.cory.common.model.TokenBatch;
import ai.cory.common.model.Workspace;
import ai.cory.common.sampling.SamplingParams;
import ai.cory.common.tokenizer.Tokenizer;
import ai.cory.worker.rollout.Generator;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Held-out evaluation on one replica: samples a response for each row of a micro-batch and scores
 * it, under the evaluated policy (log-probability, per-token entropy) and under the reference
 * (log-probability, for the KL). A row's draws depend only on (seed, global row, step), and the
 * driver cuts the rows into the same micro-batches however many executors share them (each
 * micro-batch sampled and scored as one batch), so W executors produce exactly the numbers of one.
 */
public final class EvalSampler {
  /** A row to sample: its index among all rows of the evaluation and its prompt tokens. */
  public record Row(long globalRow, int[] prompt) implements Serializable {
    private static final long serialVersionUID = 1L;
  }

  /**
   * A sampled, scored row.
   *
   * @param globalRow  the row's index among all rows
   * @param response   the sampled tokens (a stop token, when reached, last)
   * @param text       the response decoded without special tokens
   * @param logp       sum over the response of the policy's log-probability of each token
   * @param refLogp    the same under the reference; NaN without one
   * @param entropy    sum over the response of the policy's next-token entropy (nats)
   */
  public record Result(long globalRow, int[] response, String text, double logp, double refLogp, double entropy)
      implements Serializable {
    private static final long serialVersionUID = 1L;
  }

  private final CausalLm policy;
  private final CausalLm reference;
  private final Tokenizer tokenizer;
  private final int[] stopIds;
  private final SamplingParams sampling;
  private final int maxNewTokens;
  private final long seed;
  private final int samplerThreads;

  /**
   * @param reference the model the KL is measured against, or null for none
   */
  public EvalSampler(CausalLm policy, CausalLm reference, Tokenizer tokenizer, int[] stopIds, SamplingParams sampling,
      int maxNewTokens, long seed, int samplerThreads) {
    this.policy = policy;
    this.reference = reference;
    this.tokenizer = tokenizer;
    this.stopIds = stopIds.clone();
    this.sampling = sampling;
    this.maxNewTokens = maxNewTokens;
    this.seed = seed;
    this.samplerThreads = samplerThreads;
  }

  /** Samples and scores one micro-batch of consecutive global rows. */
  public List<Result> run(List<Row> rows) {
    int longest = rows.stream().mapToInt(r -> r.prompt().length).max().orElseThrow();
    int context = policy.config().maxPositions();
    int newTokens = Math.min(maxNewTokens, context - longest);
    if (newTokens < 1) {
      throw new IllegalArgumentException("a prompt of " + longest + " tokens leaves no room to generate in the model's "
          + context + " positions");
    }
    List<int[]> prompts = rows.stream().map(Row::prompt).toList();
    int[][] responses;
    try (Generator generator = new Generator(policy, rows.size(), longest + newTokens, sampling, samplerThreads)) {
      responses = generator.generate(prompts, newTokens, seed, rows.get(0).globalRow(), stopIds).responses();
    }
    double[][] own = score(policy, rows, responses, true);
    double[][] ref = reference != null ? score(reference, rows, responses, false) : null;
    List<Result> out = new ArrayList<>(rows.size());
    for (int b = 0; b < rows.size(); b++) {
      out.add(new Result(rows.get(b).globalRow(), responses[b], tokenizer.decode(responses[b], true), own[0][b],
          ref != null ? ref[0][b] : Double.NaN, own[1][b]));
    }
    return out;
  }

  /**
   * Sums over each response of the taken tokens' log-probabilities (row 0) and, with
   * {@code entropy}, of the next-token entropies (row 1): prompts left-padded to one column,
   * responses right-padded after it.
   */
  static double[][] score(CausalLm model, List<Row> rows, int[][] responses, boolean entropy) {
    int b = rows.size();
    int p = rows.stream().mapToInt(r -> r.prompt().length).max().orElseThrow();
    int longest = Arrays.stream(responses).mapToInt(x -> x.length).max().orElse(0);
    double[][] sums = new double[2][b];
    if (longest == 0) {
      return sums;
    }
    int t = p + longest;
    int[][] tokens = new int[b][t];
    int[][] mask = new int[b][t];
    for (int i = 0; i < b; i++) {
      int[] prompt = rows.get(i).prompt();
      System.arraycopy(prompt, 0, tokens[i], p - prompt.length, prompt.length);
      System.arraycopy(responses[i], 0, tokens[i], p, responses[i].length);
      Arrays.fill(mask[i], p - prompt.length, p + responses[i].length, 1);
    }
    Workspace ws = model.newWorkspace(b, t, false, false);
    ForwardOptions opt = ForwardOptions.logprobs(p - 1, t);
    ForwardResult f;
    try {
      f = model.forward(ws, TokenBatch.of(tokens, mask), entropy ? opt.withEntropy() : opt);
    } finally {
      ws.release(); // the results stay readable: views kept alive on the host, copies from a device
    }
    for (int i = 0; i < b; i++) {
      for (int j = 0; j < responses[i].length; j++) {
        sums[0][i] += f.logp().getDouble(i, p - 1 + j);
        if (entropy) {
          sums[1][i] += f.entropy().getDouble(i, p - 1 + j);
        }
      }
    }
    return sums;
  }
}
