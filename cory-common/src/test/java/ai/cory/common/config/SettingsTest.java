package ai.cory.common.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.config.AlgorithmSettings.Mode;
import ai.cory.common.cory.ObserverTemplate;
import ai.cory.common.ppo.KlPenalty;
import ai.cory.common.ppo.PpoConfig;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValue;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

final class SettingsTest {
  private static final String REQUIRED = "cory.model.path = \"models/m\"\ncory.task.data = \"data/d.jsonl\"\n";

  private static SettingsException fails(String hocon) {
    return assertThrows(SettingsException.class, () -> Settings.parse(REQUIRED + hocon));
  }

  @Test
  void defaultsAreThePapersImdbColumn() {
    Settings s = Settings.parse(REQUIRED);
    assertEquals(PpoConfig.defaults(), s.ppo());
    assertEquals(OptimizerSettings.defaults(), s.optimizer());
    assertEquals(AlgorithmSettings.cory(), s.algorithm());
    assertEquals(4, s.generation().minNewTokens());
    assertEquals(15, s.generation().maxNewTokens());
    assertEquals(1.1, s.generation().sampling().repetitionPenalty());
    assertEquals(ObserverTemplate.IMDB, s.task().observer());
    assertEquals("models/m", s.model().path());
    assertEquals(256, s.model().forwardBatchSize(), "0 = mini-batch size");
    assertEquals(s.run().seed(), s.model().valueHeadSeed(), "null = the run seed");
    assertEquals("bow-sentiment", s.reward().type());
  }

  @Test
  void everyReferenceKeyIsDocumented() {
    Config reference = ConfigFactory.parseResources(Settings.class.getClassLoader(), "reference.conf");
    int leaves = 0;
    for (Map.Entry<String, ConfigValue> e : reference.getConfig(Settings.ROOT).root().toConfig().entrySet()) {
      leaves++;
      assertFalse(e.getValue().origin().comments().isEmpty(), "reference.conf key cory." + e.getKey()
          + " has no comment");
    }
    assertTrue(leaves > 40, "walked " + leaves + " keys");
  }

  @Test
  void unknownKeysFailWithTheirPath() {
    SettingsException top = fails("cory.ppo.learning_rate = 1e-4");
    assertEquals("cory.ppo.learning_rate", top.path());
    assertTrue(top.getMessage().contains("unknown key"), top.getMessage());
    assertTrue(top.getMessage().contains("settings text: 3"), "origin line: " + top.getMessage());
    assertEquals("cory.task.imdb.min-query-token", fails("cory.task.imdb.min-query-token = 3").path());
    assertEquals("cory.nope", fails("cory.nope { a = 1 }").path());
    assertEquals("cory.ppo", fails("cory.ppo = 3").path());
    assertEquals("cory.run.seed", fails("cory.run.seed { a = 1 }").path());
    // keys outside `cory` belong to other libraries
    Settings.parse(REQUIRED + "akka.loglevel = DEBUG");
  }

  @Test
  void rewardBlockIsFreeForm() {
    Settings s = Settings.parse(REQUIRED + "cory.reward { type = \"com.example.MyReward\", threshold = 0.5, "
        + "nested { x = 1 } }");
    assertEquals("com.example.MyReward", s.reward().type());
    assertEquals(0.5, s.reward().config().getDouble("threshold"));
    assertEquals(1, s.reward().config().getInt("nested.x"));
  }

  @Test
  void badValuesNameTheirKey() {
    assertEquals("cory.model.path", assertThrows(SettingsException.class,
        () -> Settings.parse("cory.task.data = x")).path());
    assertEquals("cory.task.data", assertThrows(SettingsException.class,
        () -> Settings.parse("cory.model.path = x")).path());
    SettingsException type = fails("cory.ppo.batch-size = lots");
    assertEquals("cory.ppo.batch-size", type.path());
    assertTrue(type.getMessage().contains("integer"), type.getMessage());
    assertEquals("cory.ppo.gamma", fails("cory.ppo.gamma = 1.5").path());
    assertEquals("cory.ppo.learning-rate", fails("cory.ppo.learning-rate = 0").path());
    SettingsException multiple = fails("cory.ppo { batch-size = 30, mini-batch-size = 8 }");
    assertEquals("cory.ppo.batch-size", multiple.path());
    assertTrue(multiple.getMessage().contains("multiple"), multiple.getMessage());
    SettingsException kl = fails("cory.ppo.kl-penalty = kld");
    assertTrue(kl.getMessage().contains("kl, abs, mse, full"), kl.getMessage());
    assertEquals("cory.ppo.score-norm", fails("cory.ppo.score-norm = true").path());
    assertEquals("cory.generation.max-new-tokens", fails("cory.generation.max-new-tokens = 3").path());
    assertEquals("cory.generation.top-p", fails("cory.generation.top-p = 1.5").path());
    assertEquals("cory.algorithm.mode", fails("cory.algorithm.mode = solo").path());
    assertEquals("cory.algorithm.role-exchange-period", fails("cory.algorithm.role-exchange-period = -1").path());
    assertEquals("cory.task.observer-template", fails("cory.task.observer-template = \"no placeholder\"").path());
    assertEquals("cory.optimizer.beta2", fails("cory.optimizer.beta2 = 1.0").path());
    assertEquals("cory.model.dtype", fails("cory.model.dtype = bf16").path());
  }

  @Test
  void readsEveryValue() {
    Settings s = Settings.parse(REQUIRED + """
        cory.run { seed = 7, iterations = 3, dir = "r", export-final = false }
        cory.algorithm { mode = ppo, knowledge-transfer = false, role-exchange-period = 0, reset-on-exchange = false }
        cory.model { dtype = float64, value-head-seed = 11, forward-batch-size = 4 }
        cory.generation { min-new-tokens = 2, max-new-tokens = 5, top-k = 10, top-p = 0.9, greedy = true }
        cory.ppo { batch-size = 8, mini-batch-size = 2, gradient-accumulation-steps = 2, kl-penalty = full,
                   score-scaling = true, score-norm = true, score-clip = 3, max-grad-norm = 1.5, adaptive-kl = false }
        cory.optimizer.epsilon-convention = nd4j
        cory.task { type = gsm8k, imdb.split = null }
        """);
    assertEquals(new RunSettings(7, 3, "r", false, null), s.run());
    assertEquals(new AlgorithmSettings(Mode.PPO, false, 0, false), s.algorithm());
    assertEquals(new ModelSettings("models/m", Precision.FLOAT64, 11, 4), s.model());
    assertEquals(KlPenalty.FULL, s.ppo().klPenalty());
    assertEquals(3.0, s.ppo().scoreClip().getAsDouble());
    assertEquals(1.5, s.ppo().maxGradNorm().getAsDouble());
    assertEquals(4, s.ppo().optimizerStepsPerEpoch() * 2);
    assertFalse(s.ppo().adapKlCtrl());
    assertEquals(OptimizerSettings.EpsilonConvention.ND4J, s.optimizer().epsilonConvention());
    assertTrue(s.generation().greedy());
    assertEquals(TaskSettings.TaskType.GSM8K, s.task().type());
    assertEquals(null, s.task().imdbSplit());
    assertTrue(s.task().observer().template().contains("\nReference: {response}\nAnswer:"));
  }

  @Test
  void fileWithCommandLineOverrides(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("run.conf");
    Files.writeString(file, REQUIRED + "cory.ppo.learning-rate = 1e-4\ncory.run.seed = 3\n");
    Settings s = Settings.load(file, List.of("ppo.learning-rate=2e-5", "cory.run.seed = 9",
        "task.observer-template=\"Q: {query} A: {response}\""));
    assertEquals(2e-5, s.ppo().learningRate());
    assertEquals(9, s.run().seed());
    assertEquals("Q: {query} A: {response}", s.task().observer().template());
    SettingsException bad = assertThrows(SettingsException.class,
        () -> Settings.load(file, List.of("ppo.nope=1")));
    assertEquals("cory.ppo.nope", bad.path());
    assertTrue(bad.getMessage().contains("override ppo.nope=1"), bad.getMessage());
    assertThrows(SettingsException.class, () -> Settings.load(file, List.of("no-equals-sign")));
    // URIs need no quotes (in HOCON "//" would start a comment)
    Settings uris = Settings.load(file, List.of("model.path=hdfs://nn:8020/models/llama", "task.data = s3a://b/d.jsonl",
        "run.dir=file:///tmp/runs"));
    assertEquals("hdfs://nn:8020/models/llama", uris.model().path());
    assertEquals("s3a://b/d.jsonl", uris.task().data());
    assertEquals("file:///tmp/runs", uris.run().dir());
    assertThrows(SettingsException.class, () -> Settings.load(dir.resolve("missing.conf"), List.of()));
  }

  @Test
  void serializesAsItsResolvedTextAndReadsBackEqual() throws Exception {
    Settings s = Settings.parse(REQUIRED + "cory.ppo.score-clip = 2\ncory.reward.path = \"x.tsv\"\n");
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(s);
    }
    try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
      assertEquals(s, in.readObject());
    }
    assertEquals(s, Settings.parse(s.render()), "the rendered config reads back to the same settings");
  }

  @Test
  void aRunIdGivesTheRunItsOwnDirectoryAndStore() {
    Config user = ConfigFactory.parseString(REQUIRED
        + "cory.run { dir = \"/runs/gsm8k/\", store = \"hdfs://nn:8020/cory/gsm8k\" }");
    Settings plain = Settings.from(user, Map.of());
    assertEquals("/runs/gsm8k/", plain.run().dir());
    // the scheduler's CORY_RUN_ID: a directory and a store of its own
    Settings scheduled = Settings.from(user, Map.of(Settings.RUN_ID_ENV, "gsm8k-nightly-1796220000"));
    assertEquals("/runs/gsm8k/gsm8k-nightly-1796220000", scheduled.run().dir());
    assertEquals("hdfs://nn:8020/cory/gsm8k/gsm8k-nightly-1796220000", scheduled.run().store());
    // the key wins over the environment; the run's own resolved config is not nested again
    Settings keyed = Settings.from(user.withFallback(ConfigFactory.parseString("cory.run.id = r7")),
        Map.of(Settings.RUN_ID_ENV, "other"));
    assertEquals("/runs/gsm8k/r7", keyed.run().dir());
    Settings again = Settings.from(ConfigFactory.parseString(keyed.resolved()), Map.of());
    assertEquals("/runs/gsm8k/r7", again.run().dir());
    assertEquals("hdfs://nn:8020/cory/gsm8k/r7", again.run().store());
    SettingsException bad = assertThrows(SettingsException.class,
        () -> Settings.from(user, Map.of(Settings.RUN_ID_ENV, "../escape")));
    assertTrue(bad.getMessage().contains("cory.run.id") && bad.getMessage().contains("CORY_RUN_ID"),
        bad.getMessage());
  }
}
