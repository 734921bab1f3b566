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
    Path conf = tmp.resolve("run.conf");
    Files.writeString(conf, "cory.model.path = demo\ncory.task.data = \"" + data + "\"\n"
        + "cory.reward.path = \"/abs/words.tsv\"\n");
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
}
