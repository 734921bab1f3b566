package ai.cory.common.fuzz;

import ai.cory.common.checkpoint.CheckpointManifest;
import ai.cory.common.checkpoint.CheckpointState;
import ai.cory.common.checkpoint.CommitMarker;
import ai.cory.common.io.FileSource;
import ai.cory.common.io.SafeTensors;
import ai.cory.common.model.HfConfigReader;
import ai.cory.common.reward.BagOfWordsSentimentReward;
import ai.cory.common.task.Gsm8kPrompts;
import ai.cory.common.task.ImdbQueries;
import ai.cory.common.task.ImdbQueryConfig;
import ai.cory.common.tokenizer.HfTokenizer;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayInputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;

/**
 * Coverage-guided fuzz targets (Jazzer) for every reader of untrusted bytes: the safetensors
 * header, the Hugging Face config.json reader, the tokenizer loader (native code behind it), the
 * checkpoint manifest, marker and state readers, the JSON-lines task readers and the reward file
 * reader. Each must either accept its input or refuse it with the exception its callers turn
 * into one clear line (IOException, IllegalArgumentException); anything else (a
 * NullPointerException, an index out of bounds, a JVM crash in native code, an allocation sized
 * by the input) is a finding.
 *
 * <p>The default test run replays each target's inputs
 * ({@code src/test/resources/ai/cory/common/fuzz/FuzzTargetsTestInputs/<target>/}: seeds, and
 * every finding so far under a name saying what it was) plus an empty input. To fuzz one target
 * for its {@code maxDuration}: {@code JAZZER_FUZZ=1 mvn -B test -pl cory-common
 * -Dtest='FuzzTargetsTest#tokenizer'} (docs/testing.md); a finding is written into that
 * directory and fails the run.
 */
final class FuzzTargetsTest {

  /** One file in memory as a directory. */
  private record OneFile(String name, byte[] bytes) implements FileSource {
    @Override
    public boolean exists(String file) {
      return name.equals(file);
    }

    @Override
    public long size(String file) throws IOException {
      return bytes(file).length;
    }

    @Override
    public InputStream open(String file, long offsetBytes) throws IOException {
      byte[] b = bytes(file);
      return new ByteArrayInputStream(b, (int) Math.min(offsetBytes, b.length), b.length);
    }

    @Override
    public String describe(String file) {
      return "fuzz:" + file;
    }

    private byte[] bytes(String file) throws FileNotFoundException {
      if (!exists(file)) {
        throw new FileNotFoundException(describe(file));
      }
      return bytes;
    }
  }

  @FuzzTest(maxDuration = "30s")
  void safetensorsHeader(byte[] data) throws IOException {
    try {
      SafeTensors st = SafeTensors.open(new OneFile("model.safetensors", data), "model.safetensors");
      st.names();
    } catch (IOException | IllegalArgumentException expected) {
      // refused with a message naming the file
    }
  }

  @FuzzTest(maxDuration = "30s")
  void hfConfig(byte[] data) {
    try {
      HfConfigReader.read(new OneFile("config.json", data));
    } catch (IOException | IllegalArgumentException expected) {
      // refused naming file and key
    }
  }

  @FuzzTest(maxDuration = "30s")
  void tokenizer(byte[] data) {
    try (HfTokenizer t = HfTokenizer.load(new OneFile("tokenizer.json", data))) {
      t.encode("The movie was great", false);
    } catch (IOException | IllegalArgumentException expected) {
      // refused naming the file
    }
  }

  @FuzzTest(maxDuration = "30s")
  void checkpointMetadata(byte[] data) {
    try {
      CheckpointManifest.fromJson(data, "manifest.json");
    } catch (IOException | IllegalArgumentException expected) {
      // a checkpoint with this manifest is skipped as corrupt
    }
    try {
      CommitMarker.fromJson(data, "_COMMITTED");
    } catch (IOException | IllegalArgumentException expected) {
      // idem
    }
    try {
      CheckpointState.fromJson(data, "state.json");
    } catch (IOException | IllegalArgumentException expected) {
      // idem
    }
  }

  @FuzzTest(maxDuration = "30s")
  void taskData(byte[] data) {
    try {
      Gsm8kPrompts.read(new ByteArrayInputStream(data), "fuzz:gsm8k.jsonl");
    } catch (IOException | IllegalArgumentException expected) {
      // refused naming file and line
    }
    try {
      ImdbQueries.readReviews(new ByteArrayInputStream(data), "fuzz:imdb.jsonl", ImdbQueryConfig.paper());
    } catch (IOException | IllegalArgumentException expected) {
      // idem
    }
  }

  @FuzzTest(maxDuration = "30s")
  void rewardFile(byte[] data) {
    try {
      BagOfWordsSentimentReward.load(new ByteArrayInputStream(data), "fuzz:words.tsv");
    } catch (IOException | IllegalArgumentException expected) {
      // refused naming file and line
    }
  }
}
