package ai.cory.worker.store;

import static ai.cory.worker.store.CheckpointFixtures.assertHolds;
import static ai.cory.worker.store.CheckpointFixtures.bits;
import static ai.cory.worker.store.CheckpointFixtures.contents;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.checkpoint.Checkpoint;
import ai.cory.common.checkpoint.CheckpointContents;
import ai.cory.common.checkpoint.CheckpointException;
import ai.cory.common.checkpoint.CheckpointLayout;
import ai.cory.common.checkpoint.CheckpointManifest.FileEntry;
import ai.cory.common.checkpoint.ChecksumAlgorithm;
import ai.cory.common.io.LocalFileSource;
import ai.cory.common.io.SafeTensors;
import ai.cory.common.model.CausalLm;
import ai.cory.common.model.Parameters;
import ai.cory.common.testing.SharedAssets;
import ai.cory.common.tokenizer.HfTokenizer;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

/** The checkpoint protocol on {@code file://} through Hadoop's local FileSystem. */
class CheckpointStoreTest {
  @TempDir Path run;

  private final List<String> warnings = new ArrayList<>();

  private CheckpointStore store(int keepLast, ChecksumAlgorithm algorithm, Configuration conf)
      throws IOException {
    return new CheckpointStore(run.toUri().toString(), conf, keepLast, algorithm, warnings::add);
  }

  private CheckpointStore store(int keepLast) throws IOException {
    return store(keepLast, ChecksumAlgorithm.CRC32C, new Configuration());
  }

  private Path dir(long iteration) {
    return run.resolve("checkpoints").resolve(CheckpointLayout.committedDirName(iteration));
  }

  private static long commit(CheckpointStore store, long iteration, long seed) throws IOException {
    store.commit(store.write(contents(iteration, seed, null)));
    return iteration;
  }

  /** Names in the checkpoints directory, without Hadoop's hidden .crc side files. */
  private List<String> listing() throws IOException {
    try (Stream<Path> s = Files.list(run.resolve("checkpoints"))) {
      return s.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(".")).sorted().toList();
    }
  }

  @Test
  void roundTripIsBitIdenticalAndInvisibleUntilCommitted() throws IOException {
    CheckpointStore store = store(3);
    CheckpointContents written = contents(7, 11, null);
    PendingCheckpoint pending = store.write(written);
    assertTrue(store.latestCommitted().isEmpty(), "a written, uncommitted checkpoint is invisible");
    assertEquals(List.of(pending.tmpDirName()), listing());

    String committed = store.commit(pending);
    assertTrue(committed.startsWith("file:") && committed.endsWith("/checkpoints/iter-000007"), committed);
    assertEquals(List.of("iter-000007"), listing(), "the temporary directory became the checkpoint");
    Checkpoint cp = store.latestCommitted().orElseThrow();
    assertHolds(written, cp);
    assertEquals(List.of("state.json", "config.conf", "agent-A/config.json",
            "agent-A/model.safetensors", "agent-A/value_head.safetensors", "agent-B/config.json",
            "agent-B/model.safetensors", "agent-B/value_head.safetensors", "buffers.safetensors"),
        cp.manifest().files().stream().map(FileEntry::name).toList());
    assertEquals(ChecksumAlgorithm.CRC32C, cp.manifest().checksumAlgorithm());

    CheckpointStore sha = store(3, ChecksumAlgorithm.SHA256, new Configuration());
    CheckpointContents next = contents(8, 12, null);
    sha.commit(sha.write(next));
    Checkpoint latest = store.latestCommitted().orElseThrow();
    assertEquals(ChecksumAlgorithm.SHA256, latest.manifest().checksumAlgorithm());
    assertHolds(next, latest);
    assertHolds(written, store.load(dir(7).toUri().toString()));
    assertEquals(List.of(), warnings);
  }

  @Test
  void tornCheckpointsAreSkippedWithAWarningNamingDirectoryAndProblem() throws IOException {
    CheckpointStore store = store(10);
    commit(store, 1, 1);
    commit(store, 3, 3);
    commit(store, 4, 4);
    store.write(contents(5, 5, null)); // the stage writing iteration 5 failed: never committed
    Files.delete(dir(3).resolve(CheckpointLayout.MARKER)); // renamed, marker never written
    Files.delete(dir(4).resolve("agent-B/value_head.safetensors")); // a file lost

    Checkpoint latest = store.latestCommitted().orElseThrow();
    assertEquals(1, latest.iteration());
    assertEquals(2, warnings.size(), warnings.toString());
    assertTrue(warnings.get(0).contains(dir(4).toString()) && warnings.get(0).contains("torn")
        && warnings.get(0).contains("missing file agent-B/value_head.safetensors"), warnings.get(0));
    assertTrue(warnings.get(1).contains(dir(3).toString())
        && warnings.get(1).contains("no _COMMITTED marker"), warnings.get(1));
    CheckpointException e = assertThrows(CheckpointException.class,
        () -> store.load(dir(4).toUri().toString()));
    assertEquals(CheckpointException.Kind.TORN, e.kind());
    assertEquals(List.of(1L, 4L), store.committedIterations(), "marker present, content unchecked");
  }

  @Test
  void damagedCheckpointsAfterTheOneResumedFromAreSetAsideNotReplaced() throws IOException {
    CheckpointStore store = store(10);
    commit(store, 3, 3);
    commit(store, 4, 4);
    Files.delete(dir(4).resolve("agent-B/value_head.safetensors")); // damaged
    assertEquals(3, store.latestCommitted().orElseThrow().iteration());
    List<String> moved = store.setAsideAfter(3);
    assertEquals(1, moved.size());
    Path aside = Path.of(URI.create(moved.get(0)));
    assertTrue(aside.getFileName().toString().startsWith("iter-000004" + CheckpointStore.DAMAGED_INFIX), moved.toString());
    assertTrue(Files.isRegularFile(aside.resolve("agent-A/model.safetensors")), "the evidence is whole");
    assertEquals(List.of(3L), store.committedIterations());
    commit(store, 4, 44); // the resumed run commits iteration 4 again: the damaged one is untouched
    assertTrue(Files.isDirectory(aside));
    assertEquals(List.of(3L, 4L), store.committedIterations());
  }

  @Test
  void corruptCheckpointsAreSkippedWithAWarningNamingDirectoryAndProblem() throws IOException {
    // The raw local FileSystem keeps no .crc side files: our own checksums must catch the damage.
    Configuration raw = new Configuration();
    raw.setClass("fs.file.impl", RawLocalFileSystem.class, FileSystem.class);
    raw.setBoolean("fs.file.impl.disable.cache", true);
    CheckpointStore store = store(10, ChecksumAlgorithm.CRC32C, raw);
    for (long i = 1; i <= 4; i++) {
      commit(store, i, 10 + i);
    }
    flipByte(dir(4).resolve("agent-A/model.safetensors"));
    truncate(dir(3).resolve("buffers.safetensors"), 7);
    flipByte(dir(2).resolve("manifest.json"));

    Checkpoint latest = store.latestCommitted().orElseThrow();
    assertEquals(1, latest.iteration());
    assertHolds(contents(1, 11, null), latest);
    assertEquals(3, warnings.size(), warnings.toString());
    String[][] expected = {
        {dir(4).toString(), "corrupt", "agent-A/model.safetensors: checksum mismatch"},
        {dir(3).toString(), "corrupt", "buffers.safetensors has", "(truncated)"},
        {dir(2).toString(), "corrupt", "manifest.json: CRC32C checksum mismatch"}};
    for (int i = 0; i < expected.length; i++) {
      for (String part : expected[i]) {
        assertTrue(warnings.get(i).contains(part), "'" + part + "' in " + warnings.get(i));
      }
    }
    // through the default (checksummed) local FileSystem the damaged checkpoint is refused too
    CheckpointException e = assertThrows(CheckpointException.class,
        () -> store(10).load(dir(4).toUri().toString()));
    assertEquals(CheckpointException.Kind.CORRUPT, e.kind());
  }

  private static void flipByte(Path file) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      long at = f.length() / 2;
      f.seek(at);
      int b = f.read();
      f.seek(at);
      f.write(b ^ 0x10);
    }
  }

  private static void truncate(Path file, long bytes) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
      f.setLength(f.length() - bytes);
    }
  }

  @Test
  void retentionKeepsTheLastNAndNeverTheJustCommitted() throws IOException {
    CheckpointStore store = store(2);
    commit(store, 1, 1);
    commit(store, 2, 2);
    PendingCheckpoint stale = store.write(contents(2, 20, null)); // a failed attempt, never aborted
    PendingCheckpoint inFlight = store.write(contents(9, 9, null)); // newer: may still be in flight
    commit(store, 3, 3);
    commit(store, 4, 4);
    assertEquals(List.of(3L, 4L), store.committedIterations());
    assertEquals(List.of(inFlight.tmpDirName(), "iter-000003", "iter-000004"), listing(),
        "stale temporary of iteration 2 deleted, the newer one kept");
    FileNotFoundException gone = assertThrows(FileNotFoundException.class, () -> store.commit(stale));
    assertTrue(gone.getMessage().contains(stale.tmpDirName()), gone.getMessage());

    commit(store, 0, 100); // e.g. a run restarted from scratch: older than the kept ones
    assertEquals(List.of(0L, 3L, 4L), store.committedIterations(), "the just committed is kept");

    store.abort(inFlight);
    store.abort(inFlight); // idempotent
    assertFalse(listing().contains(inFlight.tmpDirName()));

    CheckpointContents again = contents(4, 44, null); // iteration 4 re-run after a failure
    store.commit(store.write(again));
    assertEquals(1, warnings.size(), warnings.toString());
    assertTrue(warnings.get(0).startsWith("replacing committed checkpoint file:")
        && warnings.get(0).contains(dir(4).toString()), warnings.get(0));
    assertEquals(List.of(3L, 4L), store.committedIterations());
    assertHolds(again, store.latestCommitted().orElseThrow());
  }

  /**
   * An export is the checkpoint's agent directory ({@code HfExport}): the language model alone in
   * {@code model.safetensors} (transformers loads it without unexpected keys) and the value head
   * beside it, so the exported agent loads back whole.
   */
  @Test
  void exportedAgentsLoadBackThroughCausalLmWithTheirValueHead() throws IOException {
    CheckpointStore store = store(1);
    CheckpointContents written = contents(3, 5, null);
    store.commit(store.write(written));
    Checkpoint cp = store.latestCommitted().orElseThrow();
    for (String agent : List.of("A", "B")) {
      Path target = run.resolve("export-" + agent);
      store.exportHuggingFace(cp, agent, target.toUri().toString());
      try (Stream<Path> s = Files.list(target)) {
        assertEquals(List.of("config.json", "model.safetensors", "value_head.safetensors"),
            s.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(".")).sorted().toList());
      }
      LocalFileSource exported = new LocalFileSource(target);
      assertTrue(SafeTensors.open(exported).names().stream().noneMatch(n -> n.startsWith("v_head")));
      Parameters want = written.agents().get(agent).weights();
      Parameters got = CausalLm.load(exported, DataType.FLOAT, 99).params();
      assertEquals(want.layout().config(), got.layout().config(), agent);
      for (String name : want.names()) {
        assertArrayEquals(bits(want.get(name)), bits(got.get(name)), agent + " " + name);
      }
    }
  }

  @Test
  void exportCarriesTheSourceModelsTokenizer() throws IOException {
    Path source = SharedAssets.model("tiny-gpt2");
    CheckpointStore store = store(1);
    store.commit(store.write(contents(2, 7, new LocalFileSource(source))));
    Path target = run.resolve("export");
    store.exportHuggingFace(store.latestCommitted().orElseThrow(), "A", target.toString());
    for (String name : List.of("tokenizer.json", "tokenizer_config.json", "generation_config.json")) {
      assertArrayEquals(Files.readAllBytes(source.resolve(name)), Files.readAllBytes(target.resolve(name)), name);
    }
    try (HfTokenizer a = HfTokenizer.load(new LocalFileSource(source));
        HfTokenizer b = HfTokenizer.load(new LocalFileSource(target))) {
      assertArrayEquals(a.encode("The movie was great", false), b.encode("The movie was great", false));
    }
  }
}
