package ai.cory.driver.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.config.Settings;
import ai.cory.common.io.LocalFileSource;
import ai.cory.common.io.SafeTensors;
import ai.cory.common.model.CausalLm;
import ai.cory.common.model.DemoModel;
import ai.cory.common.model.HfExport;
import ai.cory.common.model.PeftExport;
import ai.cory.driver.train.DefaultRun;
import ai.cory.driver.train.MetricsLog;
import ai.cory.driver.train.TrainingLoop;
import ai.cory.worker.train.IterationReport;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The distributed runtime end to end in {@code local[N]}: the demo preset trained by W = 2
 * workers (two resident replicas in this JVM, Aeron IPC) and by W = 1 on the same global batch
 * and seed, with one PPO minibatch per epoch ({@code mini-batch-size = batch-size}, each worker
 * trains on its own rows), with four (the workers all-gather the rows and take one row of each
 * global minibatch each), and with eight of one row accumulated in pairs (each worker takes one
 * whole minibatch of every optimizer step). All compute the one-worker update up to float
 * summation order.
 */
final class SparkTrainingTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  /**
   * Largest difference allowed between the W = 2 and W = 1 runs for metrics, |a - b| / max(1, |a|),
   * and for the parameters as a whole, ||w1 - w2|| / ||w1|| (measured: see the printed line).
   */
  private static final double W2_VS_W1_TOLERANCE = 1e-4;
  /**
   * Largest difference allowed for a single parameter, |a - b| / max(1, |a|). Looser than the
   * norm: Adam moves a parameter by up to about lr (1e-3 in the demo) per step whatever the size
   * of its gradient, so a near-zero gradient whose float rounding differs between the shardings
   * (a bias summed from cancelling rows) can move one parameter a fraction of lr differently.
   */
  private static final double W2_VS_W1_PARAMETER_TOLERANCE = 5e-4;

  @RegisterExtension
  static final LocalSpark SPARK = new LocalSpark(2);

  @TempDir
  Path tmp;

  private Settings demo(Path runDir, String... overrides) throws Exception {
    DefaultRun preset = DefaultRun.demo(runDir);
    List<String> all = new ArrayList<>(List.of("run.iterations=2", "runtime.collective-timeout=60s",
        "runtime.verify-replicas-every=1"));
    all.addAll(List.of(overrides));
    return Settings.load(preset.config(), preset.withUserOverrides(all));
  }

  @ParameterizedTest(name = "mini-batch-size {0} of 8, gradient-accumulation-steps {1}")
  @CsvSource({"8, 1", "2, 1", "1, 2"})
  @Timeout(120)
  void twoWorkersKeepIdenticalReplicasAndComputeTheOneWorkerUpdate(int miniBatchSize, int accumulation)
      throws Exception {
    Path w2Dir = tmp.resolve("w2");
    Path w1Dir = tmp.resolve("w1");
    String mini = "ppo.mini-batch-size=" + miniBatchSize;
    String acc = "ppo.gradient-accumulation-steps=" + accumulation;
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    List<IterationReport> w2 = TrainingLoop.run(demo(w2Dir, "workers=2", mini, acc), w2Dir,
        new PrintStream(console, true, StandardCharsets.UTF_8));
    List<IterationReport> w1 = TrainingLoop.run(demo(w1Dir, "workers=1", mini, acc), w1Dir,
        new PrintStream(console, true, StandardCharsets.UTF_8));
    String out = console.toString(StandardCharsets.UTF_8);
    System.out.print(out);
    assertTrue(out.contains("2 worker(s)") && out.contains("replicas identical"), out);

    // replicas.jsonl: every iteration, both ranks fingerprinted, fingerprints equal
    List<JsonNode> replicas = jsonLines(w2Dir.resolve(TrainingLoop.REPLICAS_FILE));
    assertEquals(2, replicas.size());
    for (JsonNode line : replicas) {
      JsonNode workers = line.get("workers");
      assertEquals(2, workers.size());
      assertEquals(3 * 2 + 1, workers.get(0).get("checksum").size(), line.toString()); // A,B x params,adam,scalars + pioneer
      assertEquals(workers.get(0).get("checksum"), workers.get(1).get("checksum"), line.toString());
      assertTrue(workers.get(0).get("checksum_bytes").asLong() > 0);
    }
    // the replicas are loaded once and kept: iteration 1 reuses them and their ring
    for (JsonNode w : replicas.get(1).get("workers")) {
      assertFalse(w.get("loaded").asBoolean(), replicas.get(1).toString());
      assertFalse(w.get("ring_connected").asBoolean(), replicas.get(1).toString());
    }
    assertEquals(2, jsonLines(w2Dir.resolve(MetricsLog.METRICS_FILE)).size());
    // the exported demo agent is a loadable Hugging Face model (config.json written for it)
    CausalLm exported = CausalLm.load(new LocalFileSource(w2Dir.resolve("final/A")), DataType.FLOAT, 0);
    assertEquals(DemoModel.config(), exported.config());

    // W = 2 against W = 1: same metrics and parameters within float tolerance
    double worstMetric = 0;
    String worstName = "";
    for (int k = 0; k < 2; k++) {
      assertEquals(w1.get(k).pioneer(), w2.get(k).pioneer());
      assertEquals(w1.get(k).generationLength(), w2.get(k).generationLength());
      for (Map.Entry<String, Double> e : w1.get(k).metrics().entrySet()) {
        if (e.getKey().startsWith("time/")) {
          continue;
        }
        double d = relative(e.getValue(), w2.get(k).metric(e.getKey()));
        if (d > worstMetric) {
          worstMetric = d;
          worstName = "iteration " + k + " " + e.getKey() + " " + e.getValue() + " vs " + w2.get(k).metric(e.getKey());
        }
      }
    }
    assertTrue(worstMetric <= W2_VS_W1_TOLERANCE, "largest metric difference " + worstMetric + ": " + worstName);
    double worstParam = 0;
    String worstParamName = "";
    double diffSq = 0;
    double normSq = 0;
    for (String agent : List.of("A", "B")) {
      Map<String, float[]> a = tensors(w1Dir.resolve("final").resolve(agent));
      Map<String, float[]> b = tensors(w2Dir.resolve("final").resolve(agent));
      assertEquals(a.keySet(), b.keySet());
      for (String name : a.keySet()) {
        float[] x = a.get(name);
        float[] y = b.get(name);
        for (int i = 0; i < x.length; i++) {
          double d = relative(x[i], y[i]);
          if (d > worstParam) {
            worstParam = d;
            worstParamName = agent + " " + name + "[" + i + "] " + x[i] + " vs " + y[i];
          }
          diffSq += (double) (x[i] - y[i]) * (x[i] - y[i]);
          normSq += (double) x[i] * x[i];
        }
      }
    }
    double normDiff = Math.sqrt(diffSq / normSq);
    assertTrue(worstParam <= W2_VS_W1_PARAMETER_TOLERANCE, "largest parameter difference " + worstParam + ": "
        + worstParamName);
    assertTrue(normDiff <= W2_VS_W1_TOLERANCE, "||w1 - w2|| / ||w1|| = " + normDiff);
    System.out.printf("W=2 vs W=1, mini-batch-size %d of 8, accumulation %d: largest metric difference %.3e (%s), "
        + "largest parameter difference %.3e (%s), ||w1 - w2|| / ||w1|| = %.3e%n", miniBatchSize, accumulation, worstMetric,
        worstName, worstParam, worstParamName, normDiff);
  }

  /**
   * {@code runtime.sync = parameters}: the workers step Adam on their own gradients and average
   * parameters and moments every 2 optimizer steps and at the end of every PPO step, so the
   * driver still finds identical fingerprints after every iteration, and the run trains.
   */
  @Test
  @Timeout(120)
  void parameterAveragingLeavesEveryIterationWithIdenticalReplicas() throws Exception {
    Path dir = tmp.resolve("params");
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    List<IterationReport> reports = TrainingLoop.run(demo(dir, "workers=2", "ppo.mini-batch-size=2",
        "runtime.sync=parameters", "runtime.parameter-sync-every=2", "run.iterations=3"), dir,
        new PrintStream(console, true, StandardCharsets.UTF_8));
    String out = console.toString(StandardCharsets.UTF_8);
    System.out.print(out);
    assertEquals(3, reports.size());
    List<JsonNode> replicas = jsonLines(dir.resolve(TrainingLoop.REPLICAS_FILE));
    assertEquals(3, replicas.size());
    for (JsonNode line : replicas) {
      JsonNode workers = line.get("workers");
      assertEquals(workers.get(0).get("checksum"), workers.get(1).get("checksum"), line.toString());
    }
    for (IterationReport r : reports) {
      int gradNorms = 0;
      for (Map.Entry<String, Double> e : r.metrics().entrySet()) {
        assertFalse(Double.isInfinite(e.getValue()), e.getKey() + " = " + e.getValue());
        if (e.getKey().endsWith("/ppo/grad_norm")) {
          assertTrue(e.getValue() > 0, e.getKey() + " = " + e.getValue());
          gradNorms++;
        }
      }
      assertEquals(2, gradNorms, "both agents trained in iteration " + r.iteration());
    }
  }

  /**
   * {@code run.store} elsewhere than the run directory (a {@code file:} URI here; the same
   * Hadoop FileSystem calls serve {@code hdfs://}, tested on a MiniDFSCluster by
   * HdfsCheckpointStoreTest): checkpoints and exported agents go to the store, metrics stay in the
   * run directory, and a longer run started again resumes from the store.
   */
  @Test
  @Timeout(120)
  void checkpointsAndExportsGoToTheStoreAndResumeFromIt() throws Exception {
    Path dir = tmp.resolve("run");
    Path store = tmp.resolve("store");
    String storeUri = store.toUri().toString();
    ByteArrayOutputStream console = new ByteArrayOutputStream();
    PrintStream progress = new PrintStream(console, true, StandardCharsets.UTF_8);
    TrainingLoop.run(demo(dir, "workers=2", "run.store=" + storeUri), dir, progress);
    assertTrue(Files.isRegularFile(store.resolve("checkpoints/iter-000002/_COMMITTED")), "last iteration checkpointed");
    CausalLm exported = CausalLm.load(new LocalFileSource(store.resolve("final/A")), DataType.FLOAT, 0);
    assertEquals(DemoModel.config(), exported.config());
    assertFalse(Files.exists(dir.resolve("checkpoints")) || Files.exists(dir.resolve("final")),
        "nothing but logs in the run directory");
    assertEquals(2, jsonLines(dir.resolve(MetricsLog.METRICS_FILE)).size());
    try (var leftovers = Files.list(store.resolve("final"))) {
      assertEquals(List.of("A", "B"), leftovers.map(p -> p.getFileName().toString()).sorted().toList(),
          "exports replace their directories whole: no temporary directory left");
    }
    try (var files = Files.list(store.resolve("final/A"))) {
      assertEquals(List.of(), files.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".")).toList(),
          "a clean Hugging Face directory (no Hadoop .crc side files)");
    }
    // one exporter: the final agents are byte for byte the agents of the last checkpoint
    for (String agent : List.of("A", "B")) {
      Path exportedDir = store.resolve("final/" + agent);
      Path checkpointed = store.resolve("checkpoints/iter-000002/agent-" + agent);
      try (var files = Files.list(exportedDir)) {
        List<String> names = files.map(p -> p.getFileName().toString()).sorted().toList();
        assertEquals(List.of(HfExport.CONFIG_FILE, HfExport.MODEL_FILE, HfExport.VALUE_HEAD_FILE), names);
        for (String name : names) {
          assertArrayEquals(Files.readAllBytes(checkpointed.resolve(name)), Files.readAllBytes(exportedDir.resolve(name)),
              agent + "/" + name);
        }
      }
    }

    TrainingLoop.run(demo(dir, "workers=2", "run.store=" + storeUri, "run.iterations=3"), dir, progress);
    String out = console.toString(StandardCharsets.UTF_8);
    System.out.print(out);
    assertTrue(out.contains("resuming after iteration 1 from file:" + store.resolve("checkpoints/iter-000002")), out);
    assertEquals(3, jsonLines(dir.resolve(MetricsLog.METRICS_FILE)).size());
    assertTrue(Files.isRegularFile(store.resolve("checkpoints/iter-000003/_COMMITTED")));
  }

  private static double relative(double a, double b) {
    if (Double.isNaN(a) && Double.isNaN(b)) {
      return 0;
    }
    return Math.abs(a - b) / Math.max(1, Math.abs(a));
  }

  static List<JsonNode> jsonLines(Path file) throws Exception {
    List<JsonNode> out = new ArrayList<>();
    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      out.add(JSON.readTree(line));
    }
    return out;
  }

  /** Every tensor of an exported agent: the language model and the value head beside it. */
  static Map<String, float[]> tensors(Path dir) throws Exception {
    Map<String, float[]> out = new LinkedHashMap<>();
    boolean adapters = Files.exists(dir.resolve(PeftExport.ADAPTER_FILE));
    for (String file : List.of(adapters ? PeftExport.ADAPTER_FILE : HfExport.MODEL_FILE, HfExport.VALUE_HEAD_FILE)) {
      SafeTensors st = SafeTensors.open(new LocalFileSource(dir), file);
      for (String name : st.names()) {
        long[] shape = st.info(name).shape();
        INDArray dst = Nd4j.create(DataType.FLOAT, shape);
        st.readInto(name, shape, dst);
        out.put(name, dst.data().asFloat());
      }
    }
    return out;
  }

  static <T> List<T> list(Iterator<T> it) {
    List<T> out = new ArrayList<>();
    it.forEachRemaining(out::add);
    return out;
  }
}
