package ai.cory.common.io;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Every kind of bad checkpoint gets an error naming the file, the tensor and expected vs actual. */
class SafeTensorsErrorsTest {
  @TempDir Path tmp;
  private Map<String, INDArray> tensors;

  @BeforeEach
  void tensors() {
    tensors = new LinkedHashMap<>();
    tensors.put("model.embed_tokens.weight", Nd4j.linspace(DataType.FLOAT, 1, 24, 1).reshape(6, 4));
    tensors.put("model.norm.weight", Nd4j.ones(DataType.FLOAT, 4));
    tensors.put("model.layers.0.mlp.up_proj.weight", Nd4j.rand(DataType.FLOAT, 8, 4));
  }

  private Path write(String sub) throws IOException {
    Path dir = tmp.resolve(sub);
    SafeTensorsWriter.write(dir.resolve(SafeTensors.SINGLE_FILE), tensors, SafeTensorsDtype.F32);
    return dir;
  }

  private static <T extends Throwable> T expect(Class<T> type, Executable call, String... fragments) {
    T e = assertThrows(type, call);
    for (String f : fragments) {
      assertTrue(e.getMessage().contains(f), "'" + f + "' not in: " + e.getMessage());
    }
    return e;
  }

  /** Rewrites the file with a new JSON header (re-padded), keeping the data bytes. */
  private static void replaceHeader(Path file, String json) throws IOException {
    byte[] bytes = Files.readAllBytes(file);
    long oldHeader = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    byte[] h = json.getBytes(StandardCharsets.UTF_8);
    byte[] out = new byte[8 + h.length + (int) (bytes.length - 8 - oldHeader)];
    ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).put(h)
        .put(bytes, (int) (8 + oldHeader), (int) (bytes.length - 8 - oldHeader));
    Files.write(file, out);
  }

  @Test
  void missingWeightsNameBothCandidates() {
    LocalFileSource dir = new LocalFileSource(tmp);
    expect(FileNotFoundException.class, () -> SafeTensors.open(dir),
        dir.describe("model.safetensors"), dir.describe("model.safetensors.index.json"));
  }

  @Test
  void missingTensorNamesTensorFileAndClosestNames() throws IOException {
    LocalFileSource dir = new LocalFileSource(write("m"));
    SafeTensors st = SafeTensors.open(dir);
    expect(IllegalArgumentException.class, () -> st.info("model.embed_token.weight"),
        "model.embed_token.weight", dir.describe("model.safetensors"),
        "closest names: [model.embed_tokens.weight", "3 tensors");
    expect(IllegalArgumentException.class,
        () -> st.readInto("lm_head.weight", new long[] {6, 4}, Nd4j.create(DataType.FLOAT, 6, 4)),
        "no tensor lm_head.weight");
  }

  @Test
  void wrongShapeSaysExpectedAndActual() throws IOException {
    LocalFileSource dir = new LocalFileSource(write("m"));
    SafeTensors st = SafeTensors.open(dir);
    expect(IllegalArgumentException.class,
        () -> st.readInto("model.embed_tokens.weight", new long[] {4, 6}, Nd4j.create(DataType.FLOAT, 4, 6)),
        "tensor model.embed_tokens.weight in " + dir.describe("model.safetensors"),
        "expected shape [4, 6] but file has [6, 4]");
    expect(IllegalArgumentException.class,
        () -> st.readInto("model.norm.weight", new long[] {4}, Nd4j.create(DataType.FLOAT, 5)),
        "destination has 5 elements");
    expect(IllegalArgumentException.class,
        () -> st.readInto("model.norm.weight", new long[] {4}, Nd4j.create(DataType.INT32, 4)),
        "FLOAT or DOUBLE");
    INDArray strided = Nd4j.create(DataType.FLOAT, 4, 6).transpose(); // (6, 4) column-major view
    expect(IllegalArgumentException.class,
        () -> st.readInto("model.embed_tokens.weight", new long[] {6, 4}, strided), "c-order contiguous");
  }

  @Test
  void truncatedFileFailsAtOpenNamingTensorAndByteCounts() throws IOException {
    Path dir = write("m");
    Path file = dir.resolve("model.safetensors");
    long size = Files.size(file);
    byte[] bytes = Files.readAllBytes(file);
    Files.write(file, Arrays.copyOf(bytes, (int) size - 10));
    // the last tensor in name order is model.norm.weight (data is laid out in name order)
    expect(IOException.class, () -> SafeTensors.open(new LocalFileSource(dir)),
        "tensor model.norm.weight", file.toString(), "truncated file", "ends at byte " + size,
        "only " + (size - 10) + " bytes", "10 missing");
    Files.write(file, Arrays.copyOf(bytes, 100)); // cut inside the JSON header
    expect(IOException.class, () -> SafeTensors.open(new LocalFileSource(dir)),
        file.toString(), "truncated file", "only 100");
    Files.write(file, Arrays.copyOf(bytes, 5));
    expect(IOException.class, () -> SafeTensors.open(new LocalFileSource(dir)),
        file.toString(), "5 bytes");
  }

  @Test
  void malformedHeadersAreRefused() throws IOException {
    Path dir = write("m");
    Path file = dir.resolve("model.safetensors");
    LocalFileSource src = new LocalFileSource(dir);
    replaceHeader(file, "{\"model.norm.weight\": {\"dtype\": \"F32\", \"shape\": [4], ");
    expect(IOException.class, () -> SafeTensors.open(src), file.toString(), "malformed safetensors header JSON");
    replaceHeader(file, "[1, 2]");
    expect(IOException.class, () -> SafeTensors.open(src), "expected a JSON object");
    replaceHeader(file, "{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 12]}}");
    expect(IOException.class, () -> SafeTensors.open(src), "tensor a in " + file,
        "needs 16 bytes but data_offsets [0, 12] span 12");
    replaceHeader(file, "{\"a\": {\"dtype\": \"F33\", \"shape\": [4], \"data_offsets\": [0, 16]}}");
    expect(IOException.class, () -> SafeTensors.open(src), "tensor a", "unknown dtype \"F33\"");
    replaceHeader(file, "{\"a\": {\"dtype\": \"F32\", \"shape\": [-4], \"data_offsets\": [0, 16]}}");
    expect(IOException.class, () -> SafeTensors.open(src), "'shape' must be an array of non-negative");
    replaceHeader(file, "{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]},"
        + " \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [8, 16]}}");
    expect(IOException.class, () -> SafeTensors.open(src), "tensors a [", "and b [", "overlap");
    replaceHeader(file, "{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]},"
        + " \"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [16, 32]}}");
    expect(IOException.class, () -> SafeTensors.open(src), "malformed", "Duplicate field 'a'");
    replaceHeader(file, "{\"a\": {\"dtype\": \"I64\", \"shape\": [2], \"data_offsets\": [0, 16]}}");
    SafeTensors ints = SafeTensors.open(src);
    expect(IllegalArgumentException.class,
        () -> ints.readInto("a", new long[] {2}, Nd4j.create(DataType.FLOAT, 2)),
        "dtype I64 cannot be read as floats");
    Files.write(file, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-3).array());
    expect(IOException.class, () -> SafeTensors.open(src), "header length field says -3");
  }

  @Test
  void shardedIndexErrors() throws IOException {
    Path dir = tmp.resolve("sharded");
    SafeTensorsWriter.writeSharded(dir, tensors, SafeTensorsDtype.F32, 100);
    Path index = dir.resolve(SafeTensors.INDEX_FILE);
    String json = Files.readString(index);
    LocalFileSource src = new LocalFileSource(dir);
    SafeTensors.open(src); // valid as written
    Files.delete(dir.resolve("model-00002-of-00003.safetensors"));
    expect(FileNotFoundException.class, () -> SafeTensors.open(src),
        "missing shard " + dir.resolve("model-00002-of-00003.safetensors"), index.toString(),
        "model.layers.0.mlp.up_proj.weight");
    Files.writeString(index, json.replace("\"model-00002-of-00003.safetensors\"",
        "\"model-00001-of-00003.safetensors\""));
    expect(IOException.class, () -> SafeTensors.open(src), index.toString(),
        "maps tensor model.layers.0.mlp.up_proj.weight", "model-00001-of-00003.safetensors",
        "no such tensor");
    Files.writeString(index, "{\"metadata\": {}}");
    expect(IOException.class, () -> SafeTensors.open(src), index.toString(), "weight_map");
    Files.writeString(index, "{\"weight_map\": {\"a\": \"../../etc/passwd\"}}");
    expect(IOException.class, () -> SafeTensors.open(src), "must name a shard file");
    Files.writeString(index, "{\"weight_map\": {\"a\": ");
    expect(IOException.class, () -> SafeTensors.open(src), index.toString(), "malformed JSON");
  }
}
