package ai.cory.common.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.io.SafeTensors.TensorInfo;
import ai.cory.common.testing.SharedAssets;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** Reading the shared float32 checkpoints, and F16 / BF16 / sharded copies written here. */
class SafeTensorsTest {
  @TempDir Path tmp;

  /** Float32 element {@code i} of a tensor, read straight from the file bytes. */
  static float rawF32(Path file, TensorInfo t, long i) throws IOException {
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
      f.seek(t.dataStartBytes() + 4 * i);
      byte[] b = new byte[4];
      f.readFully(b);
      return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getFloat();
    }
  }

  static INDArray load(SafeTensors st, String name) throws IOException {
    long[] shape = st.info(name).shape();
    INDArray dst = Nd4j.create(DataType.FLOAT, shape.length == 0 ? new long[] {1} : shape);
    st.readInto(name, shape, dst);
    return dst;
  }

  /** Bit-exact equality of the row-major values (INDArray.equals allows 1e-5). */
  static void assertExact(INDArray expected, INDArray actual) {
    assertArrayEquals(expected.dup('c').reshape(expected.length()).toFloatVector(),
        actual.dup('c').reshape(actual.length()).toFloatVector());
  }

  static Map<String, INDArray> loadAll(SafeTensors st) throws IOException {
    Map<String, INDArray> all = new LinkedHashMap<>();
    for (String n : st.names()) {
      all.put(n, load(st, n));
    }
    return all;
  }

  @Test
  void stories260KNamesShapesAndValues() throws IOException {
    Path dir = SharedAssets.model("stories260K");
    SafeTensors st = SafeTensors.open(new LocalFileSource(dir));
    assertEquals(47, st.names().size(), "embed + 5 layers x 9 + norm");
    assertEquals("model.embed_tokens.weight", st.names().get(0), "header order");
    assertArrayEquals(new long[] {512, 64}, st.info("model.embed_tokens.weight").shape());
    assertArrayEquals(new long[] {32, 64}, st.info("model.layers.4.self_attn.k_proj.weight").shape());
    assertArrayEquals(new long[] {64, 172}, st.info("model.layers.0.mlp.down_proj.weight").shape());
    assertArrayEquals(new long[] {64}, st.info("model.norm.weight").shape());
    assertFalse(st.contains("lm_head.weight"), "tied head");
    checkLayoutTilesTheFile(dir.resolve("model.safetensors"), st);
    for (String name : List.of("model.embed_tokens.weight", "model.layers.2.mlp.down_proj.weight",
        "model.norm.weight")) {
      checkAgainstRawBytes(dir.resolve("model.safetensors"), st, name);
    }
  }

  @Test
  void tinyGpt2MultiChunkTensorMatchesRawBytes() throws IOException {
    Path dir = SharedAssets.model("tiny-gpt2");
    SafeTensors st = SafeTensors.open(new LocalFileSource(dir));
    assertEquals(28, st.names().size());
    TensorInfo wte = st.info("wte.weight");
    assertArrayEquals(new long[] {50257, 64}, wte.shape());
    assertTrue(wte.dataEndBytes() - wte.dataStartBytes() > 2L * SafeTensors.CHUNK_BYTES,
        "wte spans several chunks");
    assertArrayEquals(new long[] {64, 192}, st.info("h.1.attn.c_attn.weight").shape());
    checkLayoutTilesTheFile(dir.resolve("model.safetensors"), st);
    checkAgainstRawBytes(dir.resolve("model.safetensors"), st, "wte.weight");
    checkAgainstRawBytes(dir.resolve("model.safetensors"), st, "h.0.mlp.c_proj.bias");
  }

  /** Offsets: the first tensor starts right after the 8 + N header bytes, the last ends at EOF. */
  private static void checkLayoutTilesTheFile(Path file, SafeTensors st) throws IOException {
    long headerBytes;
    try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
      byte[] b = new byte[8];
      f.readFully(b);
      headerBytes = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }
    List<TensorInfo> sorted = st.names().stream().map(st::info)
        .sorted(Comparator.comparingLong(TensorInfo::dataStartBytes)).toList();
    assertEquals(8 + headerBytes, sorted.get(0).dataStartBytes());
    for (int i = 1; i < sorted.size(); i++) {
      assertEquals(sorted.get(i - 1).dataEndBytes(), sorted.get(i).dataStartBytes());
    }
    assertEquals(Files.size(file), sorted.get(sorted.size() - 1).dataEndBytes());
  }

  private static void checkAgainstRawBytes(Path file, SafeTensors st, String name)
      throws IOException {
    TensorInfo t = st.info(name);
    INDArray loaded = load(st, name).reshape(t.elements());
    float[] values = loaded.toFloatVector();
    long n = t.elements();
    for (long i : new long[] {0, 1, n / 3, n / 2 + 7, n - 1}) {
      float raw = rawF32(file, t, i);
      assertTrue(Float.isFinite(raw));
      assertEquals(raw, values[(int) i], 0.0f, name + "[" + i + "]");
    }
    for (float v : values) {
      assertTrue(Float.isFinite(v), name);
    }
    // double destination: the same numbers, exactly widened
    INDArray dbl = Nd4j.create(DataType.DOUBLE, t.shape());
    st.readInto(name, t.shape(), dbl);
    assertArrayEquals(loaded.castTo(DataType.DOUBLE).toDoubleVector(),
        dbl.reshape(n).toDoubleVector(), 0.0);
  }

  @Test
  void readsIntoAViewOfALargerBufferWithoutTouchingTheRest() throws IOException {
    SafeTensors st = SafeTensors.open(new LocalFileSource(SharedAssets.model("stories260K")));
    String name = "model.layers.1.self_attn.k_proj.weight"; // (32, 64)
    INDArray expected = load(st, name);
    int offset = 37;
    INDArray flat = Nd4j.valueArrayOf(new long[] {offset + 2048 + 50}, -7.0f); // (2135,)
    INDArray view = flat.get(NDArrayIndex.interval(offset, offset + 2048)).reshape(32, 64);
    assertTrue(view.isView());
    assertEquals(offset, view.offset());
    st.readInto(name, new long[] {32, 64}, view);
    assertExact(expected, view);
    assertExact(expected, flat.get(NDArrayIndex.interval(offset, offset + 2048)));
    float[] all = flat.toFloatVector();
    for (int i = 0; i < offset; i++) {
      assertEquals(-7.0f, all[i], "before the view: " + i);
    }
    for (int i = offset + 2048; i < all.length; i++) {
      assertEquals(-7.0f, all[i], "after the view: " + i);
    }
    // a view created the way a flat parameter store does it (buffer + offset)
    INDArray store = Nd4j.valueArrayOf(new long[] {100 + 2048 + 10}, -7.0f); // (2158,)
    INDArray fromBuffer = Nd4j.create(store.data(), new long[] {32, 64}, new long[] {64, 1}, 100, 'c');
    st.readInto(name, new long[] {32, 64}, fromBuffer);
    assertExact(expected, fromBuffer);
    assertExact(expected, store.get(NDArrayIndex.interval(100, 100 + 2048)));
    assertEquals(-7.0f, store.getFloat(99));
    assertEquals(-7.0f, store.getFloat(100 + 2048));
  }

  @Test
  void f32Bf16F16AndShardedCopiesLoadToTheRoundedValues() throws IOException {
    SafeTensors original = SafeTensors.open(new LocalFileSource(SharedAssets.model("tiny-gpt2")));
    Map<String, INDArray> weights = loadAll(original);
    for (SafeTensorsDtype dtype : SafeTensorsDtype.writable()) {
      Path dir = tmp.resolve(dtype.name());
      SafeTensorsWriter.write(dir.resolve(SafeTensors.SINGLE_FILE), weights, dtype);
      SafeTensors copy = SafeTensors.open(new LocalFileSource(dir));
      assertEquals(weights.keySet().stream().sorted().toList(), copy.names(), "name order");
      for (String name : weights.keySet()) {
        assertEquals(dtype.name(), copy.info(name).dtype());
        checkRounded(weights.get(name), load(copy, name), dtype, name);
      }
    }
    Path sharded = tmp.resolve("sharded");
    // shards fill up to 150 kB in name order (h.* is 200 kB in BF16); wte (6.4 MB) ends up alone
    List<Path> shards = SafeTensorsWriter.writeSharded(sharded, weights,
        SafeTensorsDtype.BF16, 150_000);
    assertEquals(3, shards.size(), "two shards of h.*, ln_f, wpe, then wte");
    SafeTensors copy = SafeTensors.open(new LocalFileSource(sharded));
    assertEquals(3, copy.files().size());
    assertEquals("model-00003-of-00003.safetensors", copy.info("wte.weight").file());
    assertEquals(weights.keySet().stream().sorted().toList(), copy.names());
    for (String name : weights.keySet()) {
      checkRounded(weights.get(name), load(copy, name), SafeTensorsDtype.BF16, name);
    }
  }

  /** Each loaded value is the stored precision's nearest value to the float32 original. */
  private static void checkRounded(INDArray original, INDArray loaded,
      SafeTensorsDtype dtype, String name) {
    float[] x = original.reshape(original.length()).toFloatVector();
    float[] y = loaded.reshape(loaded.length()).toFloatVector();
    assertEquals(x.length, y.length);
    for (int i = 0; i < x.length; i++) {
      if (dtype == SafeTensorsDtype.F32 || dtype == SafeTensorsDtype.F64) {
        assertEquals(x[i], y[i], 0.0f, name);
        continue;
      }
      // representable in the stored format, and within half a unit in the last place of it
      int mantissaBits = dtype == SafeTensorsDtype.BF16 ? 7 : 10;
      float ulp = dtype == SafeTensorsDtype.F16 && Math.abs(x[i]) < 0x1p-14f ? 0x1p-24f
          : Math.scalb(1.0f, Math.getExponent(x[i]) - mantissaBits);
      assertTrue(Math.abs(x[i] - y[i]) <= ulp / 2, name + "[" + i + "]: " + x[i] + " -> " + y[i]);
      if (dtype == SafeTensorsDtype.BF16) {
        assertEquals(0, Float.floatToRawIntBits(y[i]) & 0xFFFF, "bf16 has 16 zero low bits");
      } else {
        assertEquals(y[i], HalfFloats.f16ToFloat(HalfFloats.floatToF16(y[i])), 0.0f, "f16 value");
      }
    }
  }

  @Test
  void losslessWriterKeepsEachTensorsOwnTypeBitExactly() throws IOException {
    Map<String, INDArray> tensors = new LinkedHashMap<>();
    tensors.put("d", Nd4j.createFromArray(new double[][] {{Math.PI, -1e-300}, {Double.MIN_VALUE, 1.0 / 3}}));
    tensors.put("f", Nd4j.createFromArray(Float.MIN_VALUE, -0.0f, 1.0f / 3, 3.4e38f));
    Path dir = tmp.resolve("lossless");
    Files.createDirectories(dir);
    try (var out = Files.newOutputStream(dir.resolve("x.safetensors"))) {
      SafeTensorsWriter.writeLossless(out, tensors);
    }
    SafeTensors st = SafeTensors.open(new LocalFileSource(dir), "x.safetensors");
    assertEquals("F64", st.info("d").dtype());
    assertEquals("F32", st.info("f").dtype());
    INDArray d = Nd4j.create(DataType.DOUBLE, 2, 2);
    st.readInto("d", new long[] {2, 2}, d);
    assertArrayEquals(tensors.get("d").reshape(4).toDoubleVector(), d.reshape(4).toDoubleVector(), 0.0);
    INDArray f = Nd4j.create(DataType.FLOAT, 4);
    st.readInto("f", new long[] {4}, f);
    assertArrayEquals(tensors.get("f").toFloatVector(), f.toFloatVector(), 0.0f);
  }

  @Test
  void writerLayoutMatchesTheReferenceConvention() throws IOException {
    Map<String, INDArray> tensors = new LinkedHashMap<>();
    tensors.put("b", Nd4j.createFromArray(new float[][] {{1, 2, 3}, {4, 5, 6}}).transpose()); // (3, 2) strided
    tensors.put("a", Nd4j.createFromArray(1.5f, -2.25f, 3e-3f));
    Path file = tmp.resolve("w/model.safetensors");
    SafeTensorsWriter.write(file, tensors, SafeTensorsDtype.F32);
    byte[] bytes = Files.readAllBytes(file);
    long headerBytes = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    assertEquals(0, headerBytes % 8, "data 8-byte aligned");
    String header = new String(bytes, 8, (int) headerBytes, java.nio.charset.StandardCharsets.UTF_8);
    assertTrue(header.startsWith("{\"__metadata__\":{\"format\":\"pt\"},\"a\":"), header);
    assertTrue(header.endsWith("}") || header.stripTrailing().endsWith("}"));
    assertEquals(8 + headerBytes + 4 * 9, bytes.length);
    SafeTensors st = SafeTensors.open(new LocalFileSource(file.getParent()));
    assertEquals(List.of("a", "b"), st.names());
    assertArrayEquals(tensors.get("b").shape(), load(st, "b").shape());
    assertExact(tensors.get("b"), load(st, "b"));
    assertExact(tensors.get("a"), load(st, "a"));
    assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6}, load(st, "b").reshape(6).toFloatVector());
  }
}
