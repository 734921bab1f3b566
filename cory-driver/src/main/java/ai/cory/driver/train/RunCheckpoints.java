package ai.cory.driver.train;

import ai.cory.common.checkpoint.Checkpoint;
import ai.cory.common.checkpoint.CheckpointLayout;
import ai.cory.common.config.Settings;
import ai.cory.worker.spark.CheckpointRequest;
import ai.cory.worker.spark.TaskReport;
import ai.cory.worker.store.CheckpointStore;
import ai.cory.worker.store.PendingCheckpoint;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.apache.hadoop.conf.Configuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The driver's side of a run's checkpoints ({@link CheckpointStore} in
 * {@code <run dir>/checkpoints}): finds the newest committed checkpoint to resume from, asks
 * rank 0 for a checkpoint every {@code runtime.checkpoint-every} iterations, and commits it once
 * the iteration's stage has succeeded (a failed stage leaves only a temporary directory, which
 * readers skip and the next commit deletes).
 */
final class RunCheckpoints {
  private static final Logger LOG = LoggerFactory.getLogger(RunCheckpoints.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Settings settings;
  private final String storeUri;
  private final CheckpointStore store;

  /**
   * @param runDir the run directory: the store when {@code cory.run.store} is not set (its
   *               absolute {@code file:} URI is what executors write to, so on a cluster it must
   *               then be a shared mount)
   */
  RunCheckpoints(Settings settings, Path runDir, Configuration hadoop) throws IOException {
    this.settings = Objects.requireNonNull(settings, "settings");
    this.storeUri = settings.run().storeOr(runDir);
    this.store = new CheckpointStore(storeUri, hadoop, settings.runtime().checkpointsKept());
  }

  /**
   * The newest committed checkpoint when {@code runtime.resume} is on and one exists.
   *
   * @throws IllegalStateException when it was written with other settings (naming the first
   *                               differing block) or is past {@code run.iterations}, or when
   *                               committed checkpoints exist but every one is damaged
   */
  Optional<Checkpoint> resumable() throws IOException {
    if (!settings.runtime().resume()) {
      return Optional.empty();
    }
    Optional<Checkpoint> latest = store.latestCommitted();
    if (latest.isEmpty()) {
      List<Long> committed = store.committedIterations();
      if (!committed.isEmpty()) { // starting over would replace the only evidence of what happened
        throw new IllegalStateException("every committed checkpoint in " + store.checkpointsDir() + " (after "
            + "iterations " + committed + ") is damaged (the warnings above say how); they are left untouched. "
            + "Restore them, or start over with cory.runtime.resume = false (which replaces them) or another "
            + "run directory or cory.run.store");
      }
    }
    if (latest.isPresent()) {
      Checkpoint c = latest.get();
      store.setAsideAfter(c.iteration()); // newer ones are damaged: keep them out of the new commits' way
      // the checkpoint keeps the settings without credentials: compare like with like
      String differs = firstDifference(Settings.parse(c.resolvedConfig()), Settings.parse(settings.renderRedacted()));
      if (differs != null) {
        throw new IllegalStateException("the run directory holds " + c.location() + " written with a different "
            + differs + "; use another run directory, or cory.runtime.resume = false to start over");
      }
      if (c.iteration() > settings.run().iterations()) {
        throw new IllegalStateException(c.location() + " is past cory.run.iterations = "
            + settings.run().iterations() + " (it completed " + c.iteration() + ")");
      }
    }
    return latest;
  }

  /**
   * The newest committed checkpoint that verifies, whatever {@code runtime.resume} says
   * (recoveries); damaged newer ones are set aside.
   */
  Optional<Checkpoint> newestCommitted() throws IOException {
    Optional<Checkpoint> latest = store.latestCommitted();
    store.setAsideAfter(latest.map(Checkpoint::iteration).orElse(0L));
    return latest;
  }

  /** The first settings block that must match for a resume, or null when all do. */
  static String firstDifference(Settings stored, Settings now) {
    if (stored.run().seed() != now.run().seed()) {
      return "cory.run.seed";
    }
    Object[][] blocks = {{"cory.algorithm", stored.algorithm(), now.algorithm()},
        {"cory.model", stored.model(), now.model()}, {"cory.task", stored.task(), now.task()},
        {"cory.reward", stored.reward(), now.reward()}, {"cory.generation", stored.generation(), now.generation()},
        {"cory.ppo", stored.ppo(), now.ppo()}, {"cory.optimizer", stored.optimizer(), now.optimizer()}};
    for (Object[] b : blocks) {
      if (!b[1].equals(b[2])) {
        return (String) b[0];
      }
    }
    return null;
  }

  /** What rank 0 should checkpoint after iteration {@code k}, or null when no checkpoint is due. */
  CheckpointRequest requestAfter(long k) {
    if (!settings.runtime().checkpointsAfter(k, settings.run().iterations())) {
      return null;
    }
    return new CheckpointRequest(storeUri, settings.runtime().checkpointsKept());
  }

  /**
   * What an operator can do after a failed iteration: resume from the newest committed
   * checkpoint, or start over when there is none. Never throws (it describes a failure).
   */
  String resumeAdvice() {
    try {
      List<Long> committed = store.committedIterations();
      if (committed.isEmpty()) {
        return "no checkpoint has been committed yet (cory.runtime.checkpoint-every = "
            + settings.runtime().checkpointEvery() + "): running the same command again starts over";
      }
      long last = committed.get(committed.size() - 1);
      return "the newest committed checkpoint holds the state after iteration " + (last - 1) + " ("
          + store.checkpointsDir() + "/" + CheckpointLayout.committedDirName(last)
          + "): run the same command again to resume from it"
          + (settings.runtime().resume() ? "" : " with cory.runtime.resume = true");
    } catch (IOException | RuntimeException e) {
      return "the checkpoints in " + store.checkpointsDir() + " could not be listed (" + e.getMessage() + ")";
    }
  }

  /**
   * Commits rank 0's checkpoint of a successful stage.
   *
   * @return the committed directory
   */
  String commit(long k, List<TaskReport> reports) throws IOException {
    PendingCheckpoint pending = null;
    for (TaskReport t : reports) {
      if (t.rank() == 0) {
        pending = t.checkpoint();
      }
    }
    if (pending == null || pending.iteration() != k + 1) {
      throw new IllegalStateException("iteration " + k + ": rank 0 returned no checkpoint of iteration " + (k + 1)
          + " (got " + pending + ")");
    }
    String dir = store.commit(pending);
    LOG.info("checkpoint after iteration {} committed: {}", k, dir);
    return dir;
  }

  /**
   * Before a resumed run appends to its JSON-lines files: drops the lines of iterations at or
   * after {@code from} (logged after the checkpoint by the interrupted run; they run again). A
   * torn last line (what a kill during a write leaves) is cut; any other line that is not JSON
   * fails naming the file and line. The file is replaced atomically (a temporary sibling renamed
   * over it), so a crash here leaves the old file or the new one, never a mix.
   *
   * @return a warning when a torn last line was cut, else null
   * @throws IOException naming the file and line of a malformed line before the last
   */
  static String truncateFrom(Path jsonl, long from) throws IOException {
    if (!Files.exists(jsonl)) {
      return null;
    }
    List<String> lines = Files.readAllLines(jsonl, StandardCharsets.UTF_8);
    List<String> kept = new ArrayList<>();
    String warning = null;
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i);
      if (line.isBlank()) {
        continue;
      }
      JsonNode node;
      try {
        node = JSON.readTree(line);
      } catch (JsonProcessingException e) {
        if (i < lines.size() - 1) {
          throw new IOException(jsonl + ": line " + (i + 1) + " is not JSON (" + e.getOriginalMessage() + ")", e);
        }
        warning = jsonl + ": cut its torn last line " + (i + 1) + " (" + line.length() + " characters)";
        LOG.warn("{}", warning);
        continue;
      }
      if (node.path("iteration").asLong(Long.MAX_VALUE) < from) {
        kept.add(line);
      }
    }
    Path tmp = jsonl.resolveSibling("." + jsonl.getFileName() + ".tmp");
    Files.write(tmp, kept, StandardCharsets.UTF_8);
    Files.move(tmp, jsonl, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    return warning;
  }
}
