package ai.cory.driver.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.checkpoint.CheckpointContents.AgentSnapshot;
import ai.cory.common.checkpoint.CheckpointContents;
import ai.cory.common.checkpoint.CheckpointState.AgentState;
import ai.cory.common.checkpoint.CheckpointState;
import ai.cory.common.config.Settings;
import ai.cory.common.model.DemoModel;
import ai.cory.common.ppo.RunningMoments;
import ai.cory.worker.store.CheckpointStore;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

/** Cutting a run's JSON-lines logs back to a checkpoint before a resume. */
final class RunCheckpointsTest {
  @TempDir
  Path tmp;

  @Test
  void linesAtOrAfterTheCheckpointGoAndTheFileIsReplacedWhole() throws IOException {
    Path log = tmp.resolve("metrics.jsonl");
    Files.write(log, List.of("{\"iteration\":0}", "{\"iteration\":1}", "{\"iteration\":2}", "{\"iteration\":3}"));
    assertNull(RunCheckpoints.truncateFrom(log, 2));
    assertEquals(List.of("{\"iteration\":0}", "{\"iteration\":1}"), Files.readAllLines(log));
    try (Stream<Path> left = Files.list(tmp)) {
      assertEquals(List.of(log), left.toList(), "no temporary file left");
    }
  }

  @Test
  void aTornLastLineIsCutWithAWarningNamingTheFile() throws IOException {
    Path log = tmp.resolve("metrics.jsonl");
    // what SIGKILL in the middle of a write leaves
    Files.writeString(log, "{\"iteration\":0}\n{\"iteration\":1}\n{\"iteration\":2,\"A/pio");
    String warning = RunCheckpoints.truncateFrom(log, 2);
    assertTrue(warning != null && warning.contains(log.toString()) && warning.contains("torn last line 3"), warning);
    assertEquals(List.of("{\"iteration\":0}", "{\"iteration\":1}"), Files.readAllLines(log));
  }

  @Test
  void aMalformedLineBeforeTheLastFailsNamingFileAndLine() throws IOException {
    Path log = tmp.resolve("samples.jsonl");
    Files.write(log, List.of("{\"iteration\":0}", "{\"iteration\":1,", "{\"iteration\":2}"));
    IOException e = assertThrows(IOException.class, () -> RunCheckpoints.truncateFrom(log, 2));
    assertTrue(e.getMessage().startsWith(log + ": line 2 is not JSON"), e.getMessage());
    assertEquals(3, Files.readAllLines(log).size(), "nothing rewritten");
  }

  /**
   * A store whose every committed checkpoint is damaged is not silently started over (which would
   * replace the evidence): the run refuses, naming the directory, and leaves it as it was.
   */
  @Test
  void aStoreWhoseEveryCheckpointIsDamagedIsRefusedAndLeftAlone() throws Exception {
    Path run = tmp.resolve("run");
    Settings settings = Settings.parse("cory.model.path = demo\ncory.task.data = x.jsonl\n"
        + "cory.reward.path = w.tsv\ncory.run.iterations = 10\n");
    String committed = commitAfterIteration4(run, settings);
    Path stateFile = Path.of(URI.create(committed)).resolve("state.json");
    Files.writeString(stateFile, Files.readString(stateFile).replace("\"kl_coef\" : 0.1", "\"kl_coef\" : 0.2"));

    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> new RunCheckpoints(settings, run, new Configuration()).resumable());
    assertTrue(e.getMessage().startsWith("every committed checkpoint in ") && e.getMessage().contains("[4]")
        && e.getMessage().contains("resume = false"), e.getMessage());
    assertTrue(Files.readString(stateFile).contains("0.2"), "left as it was");
    Settings over = Settings.parse(settings.render() + "\ncory.runtime.resume = false\n");
    assertTrue(new RunCheckpoints(over, run, new Configuration()).resumable().isEmpty(), "unless told to start over");
  }

  /** Checkpoints keep the settings without credentials, and a run with credentials still resumes from them. */
  @Test
  void checkpointsKeepNoCredentialsAndTheRunStillResumes() throws Exception {
    Path run = tmp.resolve("run");
    Settings settings = Settings.parse("cory.model.path = \"hdfs://alice:s3cr3t@nn:8020/models/demo\"\n"
        + "cory.task.data = x.jsonl\ncory.reward.path = w.tsv\ncory.run.iterations = 10\n");
    String committed = commitAfterIteration4(run, settings);
    String kept = Files.readString(Path.of(URI.create(committed)).resolve("config.conf"));
    assertTrue(kept.contains("hdfs://***@nn:8020/models/demo") && !kept.contains("s3cr3t"), kept);
    assertEquals(4, new RunCheckpoints(settings, run, new Configuration()).resumable().orElseThrow().iteration());
  }

  /** A real checkpoint of the demo model after 4 iterations, committed to {@code run}'s store, as a run writes it. */
  private static String commitAfterIteration4(Path run, Settings settings) throws IOException {
    CheckpointStore store = new CheckpointStore(run.toUri().toString(), new Configuration(), 2);
    CheckpointState state = new CheckpointState(4, Map.of("A", "pioneer"),
        Map.of("A", new AgentState(4, 0.1, RunningMoments.initial(), Map.of())), Map.of("run.seed", 0L), Map.of());
    return store.commit(store.write(new CheckpointContents(state, settings.renderRedacted(),
        Map.of("A", new AgentSnapshot(DemoModel.create(DataType.FLOAT).params(), null)), Map.of())));
  }
}
