package ai.cory.common.cuda;

import ai.cory.common.config.Compute;
import ai.cory.common.io.LocalFileSource;
import ai.cory.common.model.CausalLm;
import ai.cory.common.model.ForwardOptions;
import ai.cory.common.model.ModelPass;
import ai.cory.common.model.ParamLayout;
import ai.cory.common.model.TokenBatch;
import ai.cory.common.ppo.LossGradients;
import ai.cory.common.ppo.LossInputs;
import ai.cory.common.ppo.LossStats;
import ai.cory.common.ppo.PpoLoss;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The engine on the device against the float64 PyTorch goldens of {@code shared/golden} (their
 * README), for both architectures (tiny-gpt2, stories260K): every sequence of
 * {@code *_forward.json} alone (the log-sum-exp at every position, every next-token
 * log-prob), the left-padded batch of {@code *_batch_padded.json} (every real next token's
 * log-prob, the last column's log-sum-exp, 8 greedy tokens through the KV cache token for
 * token), the gradient of {@code *_grads.json}'s mean next-token cross-entropy w.r.t. every
 * tensor (its L2 norm, sum and first 16 values), and one minibatch of the PPO step of {@code
 * ppo_step_gpt2_tiny.json} (TRL 0.7.9's loss on the policy's fresh log-probs and values, then
 * its backward into every tensor and the value head). The
 * tolerances are the CPU golden tests': logit-scale values to {@code 1e-4 (1 + |ref|)},
 * gradient statistics to 1e-3 relative.
 */
final class GoldenChecks {
  static final double LOGIT_TOL = 1e-4;
  static final double GRAD_TOL = 1e-3;
  static final double PPO_ABS = 1e-5;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String[][] MODELS = {{"tiny-gpt2", "gpt2_tiny"},
      {"stories260K", "llama_stories260K"}};

  /** Opens a pass of a model on the backend under test. */
  interface Passes {
    ModelPass open(CausalLm lm, int maxBatch, int maxSeq, boolean training);
  }

  private final Passes passes;
  private final Runnable release; // after each pass: frees what it allocated
  private final Path shared;

  private GoldenChecks(Passes passes, Runnable release, Path shared) {
    this.passes = passes;
    this.release = release;
    this.shared = shared;
  }

  /** The checks on the device behind {@code ops}. */
  static List<CheckResult> onDevice(DeviceOps ops, Path shared) throws IOException {
    try (DeviceArena arena = ops.arena(512L << 20)) {
      CudaAccelerator acc = new CudaAccelerator(ops, arena, Compute.GemmMath.FP32);
      // each pass copies its weights up: tiny models, one arena reset after each
      return new GoldenChecks((lm, b, t, training) -> ModelPass.on(acc, lm, b, t, training),
          arena::reset, shared).run();
    }
  }

  /** The same checks on the CPU engine: they hold there, so a GPU failure is the device's. */
  static List<CheckResult> onHost(Path shared) throws IOException {
    return new GoldenChecks(ModelPass::onHost, () -> { }, shared).run();
  }

  /**
   * Why no golden can be read from {@code shared}, or null when some can: each model's
   * comparisons run where its directory and goldens are there (the GPU check bundle carries
   * stories260K's only).
   */
  static String unavailable(Path shared) {
    if (shared == null) {
      return "no shared directory given (--shared DIR, the one holding golden/ and assets/)";
    }
    return present(shared).isEmpty() ? "missing " + shared.resolve("assets/models") + "/{"
        + MODELS[0][0] + "," + MODELS[1][0] + "} or their goldens under " + shared.resolve("golden")
        : null;
  }

  /** The models whose directory and three goldens are under {@code shared}. */
  static List<String[]> present(Path shared) {
    List<String[]> out = new ArrayList<>();
    for (String[] m : MODELS) {
      boolean all = Files.isDirectory(shared.resolve("assets/models").resolve(m[0]));
      for (String g : List.of("_forward.json", "_batch_padded.json", "_grads.json")) {
        all &= Files.exists(shared.resolve("golden").resolve(m[1] + g));
      }
      if (all) {
        out.add(m);
      }
    }
    return out;
  }

  private List<CheckResult> run() throws IOException {
    List<CheckResult> out = new ArrayList<>();
    List<String[]> models = present(shared);
    for (String[] m : models) {
      CausalLm lm = CausalLm.load(new LocalFileSource(shared.resolve("assets/models")
          .resolve(m[0])), DataType.FLOAT, 0);
      out.add(forward(lm, m[0], read(m[1] + "_forward.json")));
      out.addAll(padded(lm, m[0], read(m[1] + "_batch_padded.json")));
      out.addAll(gradients(lm, m[0], read(m[1] + "_grads.json")));
    }
    if (models.contains(MODELS[0]) && Files.exists(shared.resolve("golden/ppo_step_gpt2_tiny.json"))) {
      out.addAll(ppoStep(read("ppo_step_gpt2_tiny.json"), "ref_perturbed__kl_kl"));
    }
    return out;
  }

  /**
   * One PPO minibatch of TRL 0.7.9's step on tiny-gpt2 with its value head: the policy's
   * log-probs, entropies and values of the right-padded rollout from this backend, the golden's
   * old log-probs, values, advantages and returns, the engine's loss ({@link PpoLoss}), and the
   * backward of {@code loss/total} from its upstream gradients: the loss statistics (abs
   * {@value #PPO_ABS}, the golden README's float32 budget) and every tensor's gradient, value
   * head included.
   */
  private List<CheckResult> ppoStep(JsonNode golden, String scenario) throws IOException {
    CausalLm policy = CausalLm.load(new LocalFileSource(shared.resolve("assets/models/tiny-gpt2")),
        DataType.FLOAT, 0);
    JsonNode vh = golden.get("value_head");
    for (String name : List.of(ParamLayout.VALUE_WEIGHT, ParamLayout.VALUE_BIAS)) {
      double[] v = name.equals(ParamLayout.VALUE_BIAS) ? doubles(vh.get(name))
          : doubles(vh.get(name).get(0));
      policy.params().set(name, v);
    }
    JsonNode sc = golden.get("scenarios").get(scenario);
    JsonNode grid = sc.get("per_token_full_grid");
    int[][] ids = intMatrix(golden.get("input_ids"));
    int rows = ids.length;
    int t = ids[0].length;
    ModelPass pass = passes.open(policy, rows, t, true);
    ModelPass.Scores s = pass.score(TokenBatch.of(ids, intMatrix(golden.get("attention_mask"))),
        new ForwardOptions(0, t - 1, ForwardOptions.Vocab.NONE, true, true));
    LossInputs in = new LossInputs(grid(grid.get("logprobs")), grid(grid.get("values")),
        rowsOf(s.logp(), rows, t - 1, t - 1), rowsOf(s.values(), rows, t, t - 1),
        grid(grid.get("mask")), grid(grid.get("advantages")), grid(grid.get("returns")),
        rowsOf(s.entropy(), rows, t, t - 1));
    JsonNode c = golden.get("ppo_config");
    PpoLoss loss = new PpoLoss(c.get("cliprange").asDouble(), c.get("cliprange_value").asDouble(),
        c.get("vf_coef").asDouble(), c.get("ratio_threshold").asDouble());
    LossStats st = loss.stats(loss.sums(in));
    LossGradients lg = loss.gradients(in, st);
    float[] dLogp = new float[rows * (t - 1)];
    float[] dValues = new float[rows * t]; // no loss on the last column
    for (int b = 0; b < rows; b++) {
      for (int k = 0; k < t - 1; k++) {
        dLogp[b * (t - 1) + k] = (float) lg.logProbs()[b][k];
        dValues[b * t + k] = (float) lg.valuePreds()[b][k];
      }
    }
    pass.backward(dLogp, dValues);
    float[] g = pass.gradients();
    release.run();
    JsonNode ml = sc.get("minibatch_loss");
    double[][] stats = {
        {ml.get("loss/policy").asDouble(), st.policyLoss()},
        {ml.get("loss/value").asDouble(), st.valueLoss()},
        {ml.get("loss/total").asDouble(), st.totalLoss()},
        {ml.get("policy/entropy").asDouble(), st.entropy()},
        {ml.get("policy/approxkl").asDouble(), st.approxKl()},
        {ml.get("policy/policykl").asDouble(), st.policyKl()},
        {ml.get("policy/clipfrac").asDouble(), st.policyClipFrac()},
        {ml.get("policy/ratio_mean").asDouble(), st.ratioMean()},
        {ml.get("val/vpred").asDouble(), st.valuePredMean()},
        {ml.get("val/error").asDouble(), st.valueError()},
        {ml.get("val/clipfrac").asDouble(), st.valueClipFrac()}};
    double worstStat = 0;
    for (double[] e : stats) {
      double err = Math.abs(e[0] - e[1]);
      worstStat = Double.isNaN(err) ? Double.POSITIVE_INFINITY : Math.max(worstStat, err);
    }
    double worst = 0;
    String worstName = "";
    int tensors = 0;
    for (JsonNode p : sc.get("gradients").get("params")) {
      String name = p.get("name").asText();
      double err = tensorError(g, policy.params().layout().entry(name), p);
      if (!(err <= worst)) {
        worst = Double.isNaN(err) ? Double.POSITIVE_INFINITY : err;
        worstName = name;
      }
      tensors++;
    }
    String shape = scenario + ", " + rows + "x" + t + " right-padded";
    return List.of(
        new CheckResult("golden ppo step loss statistics", shape + ", 11 statistics, abs",
            worstStat, PPO_ABS),
        new CheckResult("golden ppo step gradients", shape + ", " + tensors
            + " tensors (value head included), worst " + worstName, worst, GRAD_TOL));
  }

  /** The first {@code cols} of each row of a row-major (rows, width) array, as doubles. */
  private static double[][] rowsOf(float[] x, int rows, int width, int cols) {
    double[][] out = new double[rows][cols];
    for (int b = 0; b < rows; b++) {
      for (int k = 0; k < cols; k++) {
        out[b][k] = x[b * width + k];
      }
    }
    return out;
  }

  private static double[][] grid(JsonNode node) {
    double[][] out = new double[node.size()][];
    for (int i = 0; i < out.length; i++) {
      out[i] = doubles(node.get(i));
    }
    return out;
  }

  private JsonNode read(String file) throws IOException {
    return JSON.readTree(shared.resolve("golden").resolve(file).toFile());
  }

  /** Largest {@code |got - ref| / (1 + |ref|)}: a logit-scale error. */
  private static double logitError(double worst, double got, double ref) {
    double e = Math.abs(got - ref) / (1 + Math.abs(ref));
    return Double.isNaN(e) ? Double.POSITIVE_INFINITY : Math.max(worst, e);
  }

  private CheckResult forward(CausalLm lm, String model, JsonNode golden) {
    double worst = 0;
    int positions = 0;
    for (JsonNode seq : golden.get("sequences")) {
      int[] ids = ints(seq.get("input_ids"));
      int t = ids.length;
      ModelPass.Scores s = passes.open(lm, 1, t, false)
          .score(TokenBatch.of(new int[][] {ids}), everyColumn(t));
      release.run();
      double[] lse = doubles(seq.get("per_position").get("logsumexp"));
      double[] logp = doubles(seq.get("next_token_logprobs"));
      for (int i = 0; i < t; i++) {
        worst = logitError(worst, s.lse()[i], lse[i]);
      }
      for (int i = 0; i < t - 1; i++) {
        worst = logitError(worst, s.logp()[i], logp[i]);
      }
      positions += t;
    }
    return new CheckResult("golden " + model + " forward", golden.get("sequences").size()
        + " sequences alone, " + positions + " positions: lse, next-token logp", worst,
        LOGIT_TOL);
  }

  private List<CheckResult> padded(CausalLm lm, String model, JsonNode golden) {
    int[][] ids = intMatrix(golden.get("input_ids"));
    int[][] mask = intMatrix(golden.get("attention_mask"));
    int rows = ids.length;
    int t = ids[0].length;
    ModelPass pass = passes.open(lm, rows, t, false);
    ModelPass.Scores s = pass.score(TokenBatch.of(ids, mask), everyColumn(t));
    int[][] expected = intMatrix(golden.get("greedy").get("new_tokens"));
    int[][] greedy = pass.greedy(ids, mask, golden.get("greedy").get("n_new").asInt());
    release.run();
    double worst = 0;
    for (int b = 0; b < rows; b++) {
      JsonNode row = golden.get("rows").get(b);
      int pad = row.get("n_pad").asInt();
      worst = logitError(worst, s.lse()[b * t + t - 1],
          row.get("last_position_logsumexp").asDouble());
      double[] logp = doubles(row.get("next_token_logprobs"));
      for (int k = 0; k < logp.length; k++) {
        worst = logitError(worst, s.logp()[b * (t - 1) + pad + k], logp[k]);
      }
    }
    return List.of(new CheckResult("golden " + model + " left-padded batch", rows + "x" + t
        + ": every real next-token logp, last lse", worst, LOGIT_TOL),
        new CheckResult("golden " + model + " greedy KV-cache", rows + " rows x "
            + expected[0].length + " tokens, share differing", mismatch(greedy, expected), 0));
  }

  /** Share of the tokens that differ (0 when the two agree token for token). */
  static double mismatch(int[][] got, int[][] expected) {
    int differ = 0;
    int total = 0;
    for (int b = 0; b < expected.length; b++) {
      for (int i = 0; i < expected[b].length; i++) {
        differ += got[b][i] == expected[b][i] ? 0 : 1;
        total++;
      }
    }
    return differ / (double) Math.max(1, total);
  }

  private List<CheckResult> gradients(CausalLm lm, String model, JsonNode golden) {
    int[] ids = ints(golden.get("input_ids"));
    int t = ids.length;
    ModelPass pass = passes.open(lm, 1, t, true);
    ModelPass.Scores s = pass.score(TokenBatch.of(new int[][] {ids}),
        everyColumn(t));
    double loss = 0;
    for (float v : s.logp()) {
      loss -= v;
    }
    loss /= t - 1;
    double refLoss = golden.get("loss_value").asDouble();
    float[] dLogp = new float[t - 1];
    Arrays.fill(dLogp, (float) (-1.0 / (t - 1)));
    pass.backward(dLogp, null);
    float[] g = pass.gradients();
    release.run();
    double worst = 0;
    String worstName = "";
    int tensors = 0;
    for (JsonNode p : golden.get("params")) {
      String name = p.get("name").asText();
      double err = tensorError(g, lm.params().layout().entry(name), p);
      if (!(err <= worst)) {
        worst = Double.isNaN(err) ? Double.POSITIVE_INFINITY : err;
        worstName = name;
      }
      tensors++;
    }
    return List.of(
        new CheckResult("golden " + model + " loss", t + " tokens", Math.abs(loss - refLoss)
            / Math.abs(refLoss), GRAD_TOL),
        new CheckResult("golden " + model + " gradients", tensors
            + " tensors (l2 norm, sum, first 16), worst " + worstName, worst, GRAD_TOL));
  }

  /** Every column, the last included (its log-sum-exp; it has no next token). */
  private static ForwardOptions everyColumn(int t) {
    return new ForwardOptions(0, t, ForwardOptions.Vocab.NONE, false, false);
  }

  /**
   * The worst of a tensor's gradient errors against a golden entry: its L2 norm and sum
   * (relative), its first 16 values (relative to their largest magnitude).
   */
  private static double tensorError(float[] g, ParamLayout.Entry e, JsonNode p) {
    int from = Math.toIntExact(e.offset());
    double sq = 0;
    double sum = 0;
    for (int i = 0; i < e.length(); i++) {
      sq += (double) g[from + i] * g[from + i];
      sum += g[from + i];
    }
    double err = Math.max(relative(Math.sqrt(sq), p.get("l2_norm").asDouble()),
        relative(sum, p.get("sum").asDouble()));
    double[] first = doubles(p.get("first16"));
    double maxAbs = 1e-30;
    for (double v : first) {
      maxAbs = Math.max(maxAbs, Math.abs(v));
    }
    for (int i = 0; i < first.length; i++) {
      err = Math.max(err, Math.abs(g[from + i] - first[i]) / maxAbs);
    }
    return err;
  }

  /** Relative error, or 0 when both are below 1e-6 in absolute terms (the CPU test's rule). */
  private static double relative(double got, double ref) {
    double err = Math.abs(got - ref);
    return err <= 1e-6 ? 0 : err / Math.max(Math.abs(ref), 1e-30);
  }

  private static int[] ints(JsonNode arr) {
    int[] out = new int[arr.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = arr.get(i).asInt();
    }
    return out;
  }

  private static int[][] intMatrix(JsonNode arr) {
    int[][] out = new int[arr.size()][];
    for (int i = 0; i < out.length; i++) {
      out[i] = ints(arr.get(i));
    }
    return out;
  }

  private static double[] doubles(JsonNode arr) {
    double[] out = new double[arr.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = arr.get(i).asDouble();
    }
    return out;
  }
}
