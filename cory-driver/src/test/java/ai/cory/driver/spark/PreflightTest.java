package ai.cory.driver.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import ai.cory.common.config.Settings;
import ai.cory.common.config.SettingsException;
import ai.cory.common.cuda.CudaDevices;
import ai.cory.common.model.DemoModel;
import ai.cory.common.model.ModelConfig;
import ai.cory.worker.train.MemoryPlan;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkConf;
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
  void aBarrierStageThatCanNeverRunAtOnceIsRefused() {
    SparkConf two = new SparkConf(false).set("spark.executor.instances", "2");
    Preflight.checkBarrierSlots(2, two);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Preflight.checkBarrierSlots(3, two));
    assertTrue(e.getMessage().contains("cory.workers = 3") && e.getMessage().contains("give 2 slot(s)"), e.getMessage());
    // 4 cores, 2 per task: 2 tasks per executor...
    SparkConf cores = new SparkConf(false).set("spark.executor.instances", "2").set("spark.executor.cores", "4")
        .set("spark.task.cpus", "2");
    Preflight.checkBarrierSlots(4, cores);
    // ...unless the executor's one GPU allows one task
    cores.set("spark.executor.resource.gpu.amount", "1").set("spark.task.resource.gpu.amount", "1");
    e = assertThrows(IllegalArgumentException.class, () -> Preflight.checkBarrierSlots(4, cores));
    assertTrue(e.getMessage().contains("spark.executor.resource.gpu.amount"), e.getMessage());
    Preflight.checkBarrierSlots(64, new SparkConf(false)); // no fixed executor count: not judged here
  }

  @Test
  void clusterRunsNeedLocationsEveryExecutorResolvesAlike() throws Exception {
    Preflight.requireClusterPaths(settings("run.store=hdfs://nn:8020/runs/x"));
    Preflight.requireClusterPaths(settings("run.store=\"/mnt/shared/runs/x\""));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Preflight.requireClusterPaths(settings("run.store=\"runs/x\"")));
    assertTrue(e.getMessage().startsWith("cory.run.store = 'runs/x' is relative"), e.getMessage());
    // no store: the executors write checkpoints into the run directory, which must be one shared place
    Preflight.requireClusterPaths(settings("run.dir=\"/mnt/shared/runs/x\""));
    IllegalArgumentException dir = assertThrows(IllegalArgumentException.class,
        () -> Preflight.requireClusterPaths(settings("run.dir=\"runs/x\"")));
    assertTrue(dir.getMessage().startsWith("cory.run.dir (the store while cory.run.store is unset) = 'runs/x' is "
        + "relative"), dir.getMessage());
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

  @Test
  void aRunWhosePlanExceedsTheMemoryItGetsIsRefusedWithThePlanBeforeAnyExecutor() throws Exception {
    // Llama-2-7B fully fine-tuned in float32 on a local master: ~100 GiB, more than any CI machine
    Settings full = settings("workers=1");
    MemoryPlan huge = MemoryPlan.of(full, ModelConfig.llama2_7b());
    SettingsException local = assertThrows(SettingsException.class,
        () -> Preflight.checkMemory(full, huge, new SparkConf(false).set("spark.master", "local[1]")));
    assertTrue(local.getMessage().contains("Adam moments") && local.getMessage().contains("in one local JVM"),
        local.getMessage());
    assertTrue(huge.replicaBytes() > 100L << 30, MemoryPlan.gib(huge.replicaBytes()));

    // the same shape with LoRA on an nf4 base: the plan shrinks by the base and optimizer state
    Settings lora = settings("workers=1", "model.lora.rank=16", "model.base-dtype=nf4", "model.recompute-activations=true",
        "ppo.batch-size=8", "ppo.mini-batch-size=2", "model.forward-batch-size=2");
    MemoryPlan small = MemoryPlan.of(lora, ModelConfig.llama2_7b());
    assertTrue(small.replicaBytes() < 10L << 30, small.render());

    // a cluster executor: the replica lives off-heap and must fit spark.executor.memoryOverhead
    SparkConf cluster = new SparkConf(false).set("spark.master", "yarn").set("spark.executor.memory", "8g")
        .set("spark.executor.memoryOverhead", "2g");
    SettingsException tight = assertThrows(SettingsException.class, () -> Preflight.checkMemory(lora, small, cluster));
    assertTrue(tight.getMessage().contains("spark.executor.memoryOverhead 2.00 GiB"), tight.getMessage());
    assertTrue(Preflight.checkMemory(lora, small, cluster.set("spark.executor.memoryOverhead", "12g"))
        .startsWith("fits: "));
  }

  @Test
  void cudaWithoutAUsableGpuIsRefusedInOneLineBeforeAnyExecutor() throws Exception {
    assumeFalse(CudaDevices.probe(false).usable(), "this machine has a GPU");
    Settings cuda = settings("workers=2", "model.device=cuda");
    MemoryPlan plan = MemoryPlan.of(cuda, ModelConfig.gpt2Small());
    SparkConf local = new SparkConf(false).set("spark.master", "local[2]");
    SettingsException e = assertThrows(SettingsException.class, () -> Preflight.checkDevice(cuda, plan, local));
    assertTrue(e.getMessage().startsWith("cory.model.device: cuda: this machine (a local run of 2 replica(s)) has "
        + "no usable GPU: no NVIDIA driver: libcuda.so.1 cannot be loaded"), e.getMessage());
    assertFalse(e.getMessage().contains("\n"), e.getMessage());
    // auto falls back to the CPU; cpu never looks for a GPU
    Preflight.checkDevice(settings("model.device=auto"), plan, local);
    Preflight.checkDevice(settings("model.device=cpu"), plan, local);
  }

  @Test
  void cudaOnAClusterNeedsGpuExecutors() throws Exception {
    Settings cuda = settings("workers=2", "model.device=cuda");
    MemoryPlan plan = MemoryPlan.of(cuda, ModelConfig.gpt2Small());
    SparkConf yarn = new SparkConf(false).set("spark.master", "yarn");
    SettingsException e = assertThrows(SettingsException.class, () -> Preflight.checkDevice(cuda, plan, yarn));
    assertTrue(e.getMessage().contains("spark.executor.resource.gpu.amount=1"), e.getMessage());
    Preflight.checkDevice(cuda, plan, yarn.set("spark.executor.resource.gpu.amount", "1"));
  }
}
