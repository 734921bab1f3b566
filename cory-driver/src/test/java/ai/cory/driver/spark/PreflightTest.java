package ai.cory.driver.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.config.Settings;
import ai.cory.common.model.DemoModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The checks made on the driver before any executor is requested. */
final class PreflightTest {
  @TempDir
  Path tmp;

  private Settings settings(String... overrides) throws IOException {
    Path data = tmp.resolve("d.jsonl");
    Files.writeString(data, "{\"text\": \"good\", \"label\": 1}\n");
    Path words = tmp.resolve("words.tsv");
    Files.writeString(words, "#bias\t0.0\ngood\t1.0\nbad\t-1.0\n");
    Path conf = tmp.resolve("run.conf");
    Files.writeString(conf, "cory.model.path = demo\ncory.task.data = \"" + data + "\"\n"
        + "cory.reward.path = \"" + words + "\"\n");
    return Settings.load(conf, List.of(overrides));
  }

  @Test
  void aStoreWhoseSchemeHasNoFileSystemFailsBeforeAnyExecutorNamingTheKeyAndTheConnector() throws Exception {
    IOException gs = assertThrows(IOException.class,
        () -> Preflight.check(settings("run.store=gs://bucket/runs/x"), new Configuration()));
    assertTrue(gs.getMessage().startsWith("cory.run.store = 'gs://bucket/runs/x': no Hadoop FileSystem for scheme 'gs'"),
        gs.getMessage());
    assertTrue(gs.getMessage().contains("GCS connector"), gs.getMessage());
    IOException s3 = assertThrows(IOException.class,
        () -> Preflight.check(settings("run.store=s3a://bucket/runs/x"), new Configuration()));
    assertTrue(s3.getMessage().contains("S3AFileSystem") && s3.getMessage().contains("hadoop-aws"), s3.getMessage());
    // a reachable store passes
    assertEquals(DemoModel.config(), Preflight.check(settings("run.store=" + tmp.toUri()), new Configuration()));
  }

  @Test
  void clusterRunsNeedLocationsEveryExecutorResolvesAlike() throws Exception {
    Preflight.requireClusterPaths(settings("run.store=hdfs://nn:8020/runs/x"));
    Preflight.requireClusterPaths(settings("run.store=\"/mnt/shared/runs/x\""));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Preflight.requireClusterPaths(settings("run.store=\"runs/x\"")));
    assertTrue(e.getMessage().startsWith("cory.run.store = 'runs/x' is relative"), e.getMessage());
  }

  @Test
  void aBadRewardFailsOnTheDriverBeforeAnyExecutor() throws Exception {
    IllegalArgumentException typo = assertThrows(IllegalArgumentException.class,
        () -> Preflight.check(settings("reward.type=bag-of-wrods"), new Configuration()));
    assertTrue(typo.getMessage().startsWith("cory.reward: ") && typo.getMessage().contains("bag-of-wrods"),
        typo.getMessage());
    Exception missing = assertThrows(Exception.class,
        () -> Preflight.check(settings("reward.path=\"" + tmp.resolve("nowhere.tsv") + "\""), new Configuration()));
    assertTrue(missing.getMessage().contains("nowhere.tsv"), missing.getMessage());
  }

  @Test
  void aModelDirectoryWithoutItsTokenizerFailsNamingTheKeyAndTheFile() throws Exception {
    Path model = tmp.resolve("model");
    Files.createDirectories(model);
    Files.writeString(model.resolve("config.json"), "{}");
    IOException e = assertThrows(IOException.class,
        () -> Preflight.check(settings("model.path=\"" + model + "\""), new Configuration()));
    assertTrue(e.getMessage().startsWith("cory.model.path: not a Hugging Face model directory, missing"),
        e.getMessage());
    assertTrue(e.getMessage().contains("tokenizer.json"), e.getMessage());
  }

  @Test
  void aStoreThatCannotBeWrittenAndAGenerationLongerThanTheContextFailBeforeAnyExecutor() throws Exception {
    Path file = Files.writeString(tmp.resolve("a-file"), "x");
    IOException store = assertThrows(IOException.class,
        () -> Preflight.check(settings("run.store=" + file.resolve("store").toUri()), new Configuration()));
    assertTrue(store.getMessage().startsWith("cory.run.store: cannot write to "), store.getMessage());
    try (var left = Files.list(tmp)) {
      assertTrue(left.noneMatch(p -> p.getFileName().toString().startsWith("_cory-write-probe")), "no probe left");
    }
    IllegalArgumentException context = assertThrows(IllegalArgumentException.class,
        () -> Preflight.check(settings("generation.max-new-tokens=" + DemoModel.config().maxPositions()),
            new Configuration()));
    assertTrue(context.getMessage().startsWith("cory.generation.max-new-tokens = 512 leaves no room"),
        context.getMessage());
    // a writable store passes and keeps no probe
    Preflight.check(settings("run.store=" + tmp.resolve("store").toUri()), new Configuration());
    try (var left = Files.list(tmp.resolve("store"))) {
      assertEquals(0, left.count());
    }
  }
}
