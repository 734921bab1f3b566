package ai.cory.common.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** {@code cory.workers} and {@code cory.runtime}: defaults and the checks made before a run starts. */
final class RuntimeSettingsTest {
  private static final String REQUIRED = "cory.model.path = \"m\"\ncory.task.data = \"d.jsonl\"\n";

  private static SettingsException fails(String hocon) {
    return assertThrows(SettingsException.class, () -> Settings.parse(REQUIRED + hocon));
  }

  @Test
  void defaultsAreOneWorkerInThisJvm() {
    RuntimeSettings r = Settings.parse(REQUIRED).runtime();
    assertEquals(1, r.workers());
    assertNull(r.master());
    assertEquals("local[1]", r.masterOrLocal());
    assertEquals(RuntimeSettings.Transport.AUTO, r.transport());
    assertEquals(600_000, r.collectiveTimeoutMs());
    assertEquals(65536, r.chunkBytes());
    assertEquals(1, r.verifyReplicasEvery());
    assertEquals(RuntimeSettings.Sync.GRADIENTS, r.sync());
    assertEquals(4, r.parameterSyncEvery());
  }

  @Test
  void valuesAreRead() {
    RuntimeSettings r = Settings.parse(REQUIRED + "cory.workers = 4\ncory.runtime { master = \"spark://h:7077\", "
        + "transport = udp, bind-address = \"10.1.2.3\", collective-timeout = 90s, verify-replicas-every = 5 }").runtime();
    assertEquals(4, r.workers());
    assertEquals("spark://h:7077", r.masterOrLocal());
    assertEquals(RuntimeSettings.Transport.UDP, r.transport());
    assertEquals("10.1.2.3", r.bindAddress());
    assertEquals(90_000, r.collectiveTimeoutMs());
    assertFalse(r.verifiesAfter(0, 12));
    assertTrue(r.verifiesAfter(4, 12));
    assertTrue(r.verifiesAfter(11, 12), "the last iteration is always verified");
    RuntimeSettings p = Settings.parse(REQUIRED + "cory.runtime { sync = parameters, parameter-sync-every = 2 }")
        .runtime();
    assertEquals(RuntimeSettings.Sync.PARAMETERS, p.sync());
    assertEquals(2, p.parameterSyncEvery());
  }

  @Test
  void workersMustSplitTheBatchAndTheMinibatch() {
    SettingsException e = fails("cory.workers = 3");
    assertEquals("cory.workers", e.path());
    assertTrue(e.getMessage().contains("cory.ppo.batch-size (256)"), e.getMessage());
    SettingsException mini = fails("cory.workers = 4\ncory.ppo { batch-size = 8, mini-batch-size = 2 }");
    assertTrue(mini.getMessage().contains("mini-batch-size (2)"), mini.getMessage());
    // minibatches of 1 cannot be split, but 4 workers can take whole minibatches of each step
    assertEquals(4, Settings.parse(REQUIRED + "cory.workers = 4\ncory.ppo { batch-size = 8, mini-batch-size = 1, "
        + "gradient-accumulation-steps = 4 }").runtime().workers());
  }

  @Test
  void float64NeedsOneWorker() {
    SettingsException e = fails("cory.workers = 2\ncory.model.dtype = float64");
    assertEquals("cory.workers", e.path());
    assertTrue(e.getMessage().contains("float32"), e.getMessage());
    assertEquals(1, Settings.parse(REQUIRED + "cory.model.dtype = float64").runtime().workers());
  }

  @Test
  void badValuesNameTheirKey() {
    assertEquals("cory.runtime.transport", fails("cory.runtime.transport = tcp").path());
    assertEquals("cory.runtime.collective-timeout", fails("cory.runtime.collective-timeout = soon").path());
    assertEquals("cory.runtime.chunk-bytes", fails("cory.runtime.chunk-bytes = 100").path());
    assertEquals("cory.workers", fails("cory.workers = 0").path());
    assertEquals("cory.runtime.sync", fails("cory.runtime.sync = weights").path());
    assertEquals("cory.runtime.parameter-sync-every", fails("cory.runtime.parameter-sync-every = 0").path());
    assertEquals("cory.runtime.masters", fails("cory.runtime.masters = \"local\"").path());
  }
}
