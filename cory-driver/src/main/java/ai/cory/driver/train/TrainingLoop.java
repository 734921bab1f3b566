package ai.cory.driver.train;

import ai.cory.common.config.Settings;
import ai.cory.common.cory.AgentId;
import ai.cory.common.cory.IterationPlan;
import ai.cory.common.cory.RoleSchedule;
import ai.cory.common.io.FileSink;
import ai.cory.common.io.FileSource;
import ai.cory.common.io.SafeTensorsDtype;
import ai.cory.common.io.SafeTensorsWriter;
import ai.cory.common.model.Parameters;
import ai.cory.common.task.TaskPrompt;
import ai.cory.worker.train.Agent;
import ai.cory.worker.comm.Collective;
import ai.cory.worker.train.CoryTrainer;
import ai.cory.worker.train.IterationReport;
import ai.cory.worker.train.TrainerAssets;
import ai.cory.worker.store.HadoopDirectoryWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The single-JVM training loop (one worker holding the whole batch; the W = 1 case of the
 * distributed runtime): loads everything the settings name and fails before the first
 * iteration on bad input, then runs {@code cory.run.iterations} iterations, writing
 * {@code metrics.jsonl} and a progress line per iteration, and at the end exports both agents.
 * The same seed and settings give the same metrics.
 *
 * <p>Run directory: {@value #RESOLVED_CONFIG} (the resolved settings), {@code metrics.jsonl},
 * {@code samples.jsonl}, and {@code final/<agent>/} (Hugging Face layout: {@code config.json},
 * {@code model.safetensors} with the value head, sharded with an index above 4 GiB, tokenizer
 * files).
 */
public final class TrainingLoop {
  /** The resolved settings, inside the run directory. */
  public static final String RESOLVED_CONFIG = "config.conf";
  /** Files copied from the pretrained model next to an exported agent. */
  private static final List<String> MODEL_SIDE_FILES = List.of("config.json", "generation_config.json",
      "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt");
  /** Largest safetensors file of an export; bigger models are sharded with an index. */
  private static final long MAX_SHARD_BYTES = 4L << 30;
  /** Directory of the exported agents under the run directory or store. */
  public static final String FINAL_DIR = "final";
  private static final Logger LOG = LoggerFactory.getLogger(TrainingLoop.class);

  private TrainingLoop() {}

  /**
   * Runs a whole training.
   *
   * @param settings the validated settings
   * @param runDir   where the run writes (created)
   * @param progress receives one progress line per iteration
   * @return the reports of every iteration
   */
  public static List<IterationReport> run(Settings settings, Path runDir, PrintStream progress) throws IOException {
    Files.createDirectories(runDir);
    Files.writeString(runDir.resolve(RESOLVED_CONFIG), settings.render() + "\n", StandardCharsets.UTF_8);
    Configuration hadoop = new Configuration();
    List<IterationReport> reports = new ArrayList<>();
    try (TrainerAssets assets = TrainerAssets.load(settings, hadoop)) {
      List<TaskPrompt> dataset = TaskData.load(settings, assets.tokenizer(), TrainerAssets.resolver(hadoop),
          assets.pretrained().config().maxPositions());
      QueryBatches batches = new QueryBatches(dataset, settings.ppo().batchSize(), settings.run().seed());
      RoleSchedule schedule = new RoleSchedule(settings.twoAgents() ? settings.algorithm().roleExchangePeriod() : 0);
      LOG.info("training {} iteration(s) of {} on {} queries ({}), run directory {}", settings.run().iterations(),
          settings.algorithm().mode(), dataset.size(), settings.task().data(), runDir.toAbsolutePath());
      try (CoryTrainer trainer = new CoryTrainer(settings, assets.pretrained(), assets.tokenizer(), assets.reward(),
          Collective.single()); MetricsLog log = new MetricsLog(runDir)) {
        for (long k = 0; k < settings.run().iterations(); k++) {
          IterationPlan plan = IterationPlan.of(settings.run().seed(), k, schedule,
              settings.generation().minNewTokens(), settings.generation().maxNewTokens());
          IterationReport report = trainer.runIteration(plan, batches.batch(k), 0);
          log.write(report);
          progress.println(MetricsLog.progressLine(report, settings.run().iterations()));
          progress.flush();
          reports.add(report);
        }
        if (settings.run().exportFinal()) {
          for (Agent agent : trainer.agents()) {
            export(agent, assets.modelDir(), exportDir(runDir, agent.id()));
          }
        }
      }
    }
    return reports;
  }

  /**
   * Writes an agent in Hugging Face layout (weights and value head as float32 safetensors, the
   * pretrained model's config and tokenizer files) to {@code dir}, replacing what was there.
   */
  public static void export(Agent agent, FileSource pretrainedDir, Path dir) throws IOException {
    HadoopDirectoryWriter.replace(dir.toAbsolutePath().toUri().toString(), new Configuration(),
        sink -> export(agent, pretrainedDir, sink));
    LOG.info("agent {} exported to {}", agent.id(), dir.toAbsolutePath());
  }

  /** Writes an agent in Hugging Face layout into {@code sink} (any file system). */
  public static void export(Agent agent, FileSource pretrainedDir, FileSink sink) throws IOException {
    Parameters params = agent.policy().params();
    Map<String, org.nd4j.linalg.api.ndarray.INDArray> tensors = new LinkedHashMap<>();
    for (String name : params.names()) {
      tensors.put(name, params.get(name));
    }
    if (params.layout().size() * Float.BYTES > MAX_SHARD_BYTES) { // Hugging Face's layout for large models
      SafeTensorsWriter.writeSharded(sink, tensors, SafeTensorsDtype.F32, MAX_SHARD_BYTES);
    } else {
      SafeTensorsWriter.write(sink, "model.safetensors", tensors, SafeTensorsDtype.F32);
    }
    for (String name : MODEL_SIDE_FILES) {
      if (pretrainedDir.exists(name)) {
        try (InputStream in = pretrainedDir.open(name, 0); java.io.OutputStream out = sink.create(name)) {
          in.transferTo(out);
        }
      }
    }
  }

  /** Exported directory of {@code agent} in a run directory. */
  public static Path exportDir(Path runDir, AgentId agent) {
    return runDir.resolve(FINAL_DIR).resolve(agent.key());
  }

  /** Exported directory of {@code agent} under a store location (any Hadoop URI). */
  public static String exportLocation(String store, AgentId agent) {
    return store.replaceAll("/+$", "") + "/" + FINAL_DIR + "/" + agent.key();
  }
}
