package ai.cory.worker.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.checkpoint.Checkpoint;
import ai.cory.common.config.Settings;
import ai.cory.common.cory.AgentId;
import ai.cory.common.cory.IterationPlan;
import ai.cory.common.cory.RoleSchedule;
import ai.cory.common.io.FileSink;
import ai.cory.common.io.LocalFileSource;
import ai.cory.common.model.BaseDtype;
import ai.cory.common.model.CausalLm;
import ai.cory.common.model.DemoModel;
import ai.cory.common.model.Parameters;
import ai.cory.common.model.PeftExport;
import ai.cory.common.reward.RewardFunction;
import ai.cory.common.task.TaskPrompt;
import ai.cory.common.tokenizer.Tokenizer;
import ai.cory.worker.comm.Collective;
import ai.cory.worker.store.CheckpointStore;
import ai.cory.worker.train.CoryTrainer;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * A LoRA replica's checkpoint: its adapters restore exactly onto the same base, are refused onto
 * another base (other storage, or a full fine-tuning run) naming both, and a PEFT adapter
 * directory starts both agents of a new run.
 */
final class LoraCheckpointTest {
  @TempDir
  Path tmp;

  /** Scores each response by its length: deterministic, nonzero, no files. */
  private static final RewardFunction LENGTH = items -> items.stream().mapToDouble(i -> i.response().length() / 10.0)
      .toArray();

  private static Settings settings(String model) {
    return Settings.parse("cory.model { path = demo, " + model + " }\ncory.task.data = unused.jsonl\n"
        + "cory.ppo { batch-size = 2, mini-batch-size = 2, ppo-epochs = 1, learning-rate = 1e-2 }\n"
        + "cory.generation { min-new-tokens = 2, max-new-tokens = 3 }\n");
  }

  private static CoryTrainer trainer(Settings s, Tokenizer tokenizer, Parameters initial) throws IOException {
    CausalLm base = DemoModel.SOURCE.loadBase(DataType.FLOAT, s.model().baseDtype(), 0);
    return new CoryTrainer(s, base, tokenizer, LENGTH, Collective.single(), initial);
  }

  private static List<TaskPrompt> queries(Tokenizer tokenizer) {
    List<TaskPrompt> out = new ArrayList<>();
    for (String q : List.of("good film", "bad plot")) {
      out.add(new TaskPrompt(out.size(), q, q, tokenizer.encode(q, true), null));
    }
    return out;
  }

  private static FileSink sink(Path dir) {
    return new FileSink() {
      @Override
      public OutputStream create(String name) throws IOException {
        Path p = dir.resolve(name);
        Files.createDirectories(p.getParent());
        return Files.newOutputStream(p);
      }

      @Override
      public String describe(String name) {
        return dir.resolve(name).toString();
      }
    };
  }

  @Test
  void adaptersRestoreOntoTheirBaseOnlyAndAPeftDirectoryStartsARun() throws Exception {
    Settings int8 = settings("lora.rank = 2, base-dtype = int8");
    Tokenizer tokenizer = DemoModel.SOURCE.tokenizer();
    CheckpointStore store = new CheckpointStore(tmp.resolve("run").toUri().toString(), new Configuration(), 2);
    Parameters trainedA;
    try (CoryTrainer trained = trainer(int8, tokenizer, null)) {
      RoleSchedule schedule = new RoleSchedule(int8.algorithm().roleExchangePeriod());
      for (int k = 0; k < 2; k++) {
        trained.runIteration(IterationPlan.of(0, k, schedule, 2, 3), queries(tokenizer), 0);
      }
      store.commit(store.write(ReplicaCheckpoints.contents(trained, int8, 2, null)));
      trainedA = trained.agent(AgentId.A).policy().params().copy();
      PeftExport.write(sink(tmp.resolve("peft")), trainedA, "demo");
    }
    Checkpoint checkpoint = store.latestCommitted().orElseThrow();
    assertTrue(checkpoint.state().extra().containsKey("base.crc32c"), checkpoint.state().extra().toString());

    try (CoryTrainer same = trainer(int8, tokenizer, null)) {
      assertNotEquals(trainedA.flat(), same.agent(AgentId.A).policy().params().flat());
      ReplicaCheckpoints.restore(same, int8, checkpoint);
      assertEquals(trainedA.flat(), same.agent(AgentId.A).policy().params().flat());
    }
    try (CoryTrainer nf4 = trainer(settings("lora.rank = 2, base-dtype = nf4"), tokenizer, null)) {
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> ReplicaCheckpoints.restore(nf4, settings("lora.rank = 2, base-dtype = nf4"), checkpoint));
      assertTrue(e.getMessage().contains("stored as int8") && e.getMessage().contains("as nf4")
          && e.getMessage().contains("different base"), e.getMessage());
    }
    Settings full = settings("lora.rank = 0");
    try (CoryTrainer fullRun = trainer(full, tokenizer, null)) {
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> ReplicaCheckpoints.restore(fullRun, full, checkpoint));
      assertTrue(e.getMessage().contains("written by a LoRA run"), e.getMessage());
    }

    // a PEFT adapter directory as both agents' start (cory.model.lora.init-from)
    Parameters initial = trainedA.zerosLike();
    assertTrue(PeftExport.read(new LocalFileSource(tmp.resolve("peft")), initial));
    try (CoryTrainer started = trainer(int8, tokenizer, initial)) {
      assertEquals(trainedA.flat(), started.agent(AgentId.A).policy().params().flat());
      assertEquals(trainedA.flat(), started.agent(AgentId.B).policy().params().flat());
    }
  }
}
