package ai.cory.driver.cli;

import ai.cory.common.cuda.DeviceRuntime;
import ai.cory.common.sampling.SamplingParams;
import ai.cory.worker.rollout.Generator;
import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@code bin/cory generate}: prints the completion of one prompt. */
public final class GenerateCommand implements Command {
  private static final Logger LOG = LoggerFactory.getLogger(GenerateCommand.class);
  private static final int DEFAULT_MAX_NEW_TOKENS = 64;

  @Override
  public String name() {
    return "generate";
  }

  @Override
  public String summary() {
    return "complete a prompt with a Hugging Face GPT-2 / Llama model (KV-cache sampling)";
  }

  @Override
  public String usage() {
    return String.join("\n",
        "usage: bin/cory generate [--model DIR_OR_URI] --prompt TEXT [--max-new-tokens N]",
        "                         [--greedy | --temperature T --top-k K --top-p P]",
        "                         [--repetition-penalty R] [--seed S] [--device cpu|cuda|auto]",
        "  --model               Hugging Face model directory: local path or Hadoop URI",
        "                        (hdfs://, s3a://, file://), or 'demo' (built-in random byte-level",
        "                        model). Default: ../shared/assets/models/stories260K if present,",
        "                        else demo.",
        "  --prompt              text to complete (the tokenizer adds BOS where the model uses it)",
        "  --max-new-tokens      most tokens to generate (default " + DEFAULT_MAX_NEW_TOKENS + ");"
            + " stops earlier at EOS",
        "  --greedy              argmax decoding (temperature/top-k/top-p ignored)",
        "  --temperature         sampling temperature > 0 (default 1.0)",
        "  --top-k               keep the K most likely tokens, 0 = off (default 0)",
        "  --top-p               nucleus mass in (0, 1], 1 = off (default 1.0)",
        "  --repetition-penalty  HF/CTRL penalty on tokens already present, 1 = off (default 1.0)",
        "  --seed                sampling seed (default 0); the same seed gives the same text",
        DeviceOption.USAGE);
  }

  @Override
  public int run(String[] argv, PrintStream out) throws Exception {
    Args args = Args.parse(argv,
        Set.of("model", "prompt", "max-new-tokens", "temperature", "top-k", "top-p",
            "repetition-penalty", "seed", "device"),
        Set.of("greedy"));
    if (!args.positional().isEmpty()) {
      throw new Args.UsageException("unexpected argument '" + args.positional().get(0) + "'");
    }
    String prompt = args.required("prompt");
    int maxNew = args.integer("max-new-tokens", DEFAULT_MAX_NEW_TOKENS);
    if (maxNew < 1) {
      throw new Args.UsageException("--max-new-tokens must be >= 1, got " + maxNew);
    }
    SamplingParams params;
    try {
      params = new SamplingParams(args.flag("greedy"), args.real("temperature", 1.0),
          args.integer("top-k", 0), args.real("top-p", 1.0),
          args.real("repetition-penalty", 1.0));
    } catch (IllegalArgumentException e) {
      throw new Args.UsageException(e.getMessage());
    }
    long seed = args.longValue("seed", 0);

    String modelArg = args.string("model", LoadedModel.defaultModel());
    try (DeviceRuntime gpu = DeviceOption.open(args)) {
      return generate(out, modelArg, prompt, maxNew, params, seed, gpu);
    }
  }

  private static int generate(PrintStream out, String modelArg, String prompt, int maxNew,
      SamplingParams params, long seed, DeviceRuntime gpu) throws Exception {
    long t0 = System.nanoTime();
    try (LoadedModel lm = LoadedModel.load(modelArg)) {
      if (gpu != null) {
        lm.model().placeOn(gpu.accelerator());
      }
      double loadS = (System.nanoTime() - t0) / 1e9;
      int[] promptIds = lm.tokenizer().encode(prompt, true);
      if (promptIds.length == 0) {
        throw new Args.UsageException("--prompt encodes to no tokens; give some text");
      }
      int context = lm.model().config().maxPositions();
      if (promptIds.length + maxNew > context) {
        throw new Args.UsageException("prompt (" + promptIds.length + " tokens) + "
            + "--max-new-tokens " + maxNew + " exceeds the model's context of " + context);
      }
      long t1 = System.nanoTime();
      Generator.Rollout r;
      try (Generator gen = new Generator(lm.model(), 1, promptIds.length + maxNew, params, 1)) {
        r = gen.generate(List.of(promptIds), maxNew, seed, 0, lm.stopIds());
      }
      double genS = (System.nanoTime() - t1) / 1e9;
      int[] all = new int[promptIds.length + r.lengths()[0]];
      System.arraycopy(promptIds, 0, all, 0, promptIds.length);
      System.arraycopy(r.responses()[0], 0, all, promptIds.length, r.lengths()[0]);
      out.println(lm.tokenizer().decode(all, true));
      LOG.info(String.format(Locale.ROOT,
          "model %s on the %s: loaded in %.2f s; %d prompt + %d new tokens in %.3f s (%.1f tokens/s)",
          lm.name(), gpu == null ? "cpu" : "gpu", loadS, promptIds.length, r.lengths()[0], genS,
          r.lengths()[0] / genS));
    }
    return 0;
  }
}
