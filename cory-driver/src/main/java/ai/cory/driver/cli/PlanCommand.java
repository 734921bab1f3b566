package ai.cory.driver.cli;

import ai.cory.common.config.Settings;
import ai.cory.common.model.ModelConfig;
import ai.cory.driver.spark.Preflight;
import ai.cory.driver.spark.SparkSessions;
import ai.cory.driver.train.DefaultRun;
import ai.cory.worker.spark.WorkerAssets;
import ai.cory.worker.store.FileSources;
import ai.cory.worker.train.MemoryPlan;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Set;
import org.apache.spark.SparkConf;

/**
 * {@code bin/cory plan [--config FILE] [--shape llama2-7b|gpt2-large|gpt2-small] [path=value ...]}: the
 * memory one executor of a run will hold, by component ({@link MemoryPlan}), and whether it fits
 * the executors the run would get (the same check {@code bin/cory train} makes before requesting
 * any). The model's shape comes from its {@code config.json}, or from {@code --shape} when the
 * weights are elsewhere (a cluster path).
 */
public final class PlanCommand implements Command {
  @Override
  public String name() {
    return "plan";
  }

  @Override
  public String summary() {
    return "print a run's per-executor memory plan by component and whether it fits";
  }

  @Override
  public String usage() {
    return String.join("\n",
        "usage: bin/cory plan [--config FILE] [--shape llama2-7b|gpt2-large|gpt2-small] [path=value ...]",
        "  --config FILE   HOCON run config (default: the default run's)",
        "  --shape NAME    plan for this model shape instead of reading cory.model.path's config.json",
        "  path=value      override one setting, e.g. model.lora.rank=16 model.base-dtype=nf4",
        "Prints base, adapters or weights, gradients, Adam moments, KV caches, activations, logits",
        "workspace and runtime, the total, and the memory each executor has (spark.executor.memory +",
        "memoryOverhead from spark-submit's properties, else this machine for a local run). Exits 3",
        "when the plan does not fit, like bin/cory train.");
  }

  @Override
  public int run(String[] argv, PrintStream out) throws Exception {
    Args args = Args.parse(argv, Set.of("config", "shape"), Set.of());
    DefaultRun preset = args.has("config") ? null : DefaultRun.resolve(Path.of(""), null);
    Settings settings = TrainCommand.settings(args, preset);
    ModelConfig shape;
    String name = args.string("shape", null);
    if (name == null) {
      SparkConf submitted = SparkSessions.submitted();
      shape = WorkerAssets.model(settings, FileSources.resolver(SparkSessions.hadoop(submitted))).config();
    } else if (name.equals("llama2-7b")) {
      shape = ModelConfig.llama2_7b();
    } else if (name.equals("gpt2-small")) {
      shape = ModelConfig.gpt2Small();
    } else if (name.equals("gpt2-large")) {
      shape = ModelConfig.gpt2Large();
    } else {
      throw new Args.UsageException("--shape: unknown shape '" + name + "'; use llama2-7b, gpt2-large or gpt2-small");
    }
    MemoryPlan plan = MemoryPlan.of(settings, shape);
    out.print(plan.render());
    out.println(Preflight.checkMemory(settings, plan, SparkSessions.submitted()));
    return 0;
  }
}
