package ai.cory.common.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The weights of a Hugging Face model directory in safetensors format: {@code model.safetensors},
 * or a sharded {@code model.safetensors.index.json} whose {@code weight_map} names the shard of
 * every tensor. All headers are read and validated at {@link #open}; tensor data is streamed in
 * {@value #CHUNK_BYTES}-byte chunks on {@link #readInto}, so a multi-GB checkpoint is never held
 * in memory. F16 and BF16 are widened to float32 exactly (see {@link HalfFloats}).
 *
 * <p>Instances are immutable; {@link #readInto} opens its own stream per call and may be called
 * from several threads.
 */
public final class SafeTensors {
  /** Single-file weights. */
  public static final String SINGLE_FILE = "model.safetensors";
  /** Index of sharded weights. */
  public static final String INDEX_FILE = "model.safetensors.index.json";
  /** Bytes decoded per step of {@link #readInto}. */
  static final int CHUNK_BYTES = 4 << 20;

  /**
   * One tensor of the checkpoint.
   *
   * @param name           name in the header (Hugging Face state-dict name)
   * @param dtype          safetensors dtype ("F32", "F16", "BF16", "F64", ...)
   * @param shape          stored shape, row-major
   * @param file           file holding the data, relative to the model directory
   * @param dataStartBytes absolute offset of the first data byte in {@code file}
   * @param dataEndBytes   absolute offset one past the last data byte
   */
  public record TensorInfo(String name, String dtype, long[] shape, String file,
      long dataStartBytes, long dataEndBytes) {
    public TensorInfo {
      shape = shape.clone();
    }

    /** Stored shape (a copy). */
    @Override
    public long[] shape() {
      return shape.clone();
    }

    /** Number of elements (1 for a scalar). */
    public long elements() {
      long n = 1;
      for (long d : shape) {
        n *= d;
      }
      return n;
    }

    @Override
    public String toString() {
      return name + " " + dtype + Arrays.toString(shape) + " in " + file + " bytes ["
          + dataStartBytes + ", " + dataEndBytes + ")";
    }
  }

  private final FileSource dir;
  private final Map<String, TensorInfo> tensors;
  private final List<String> names;
  /** The weight files, for messages ("model.safetensors" or the shards). */
  private final List<String> files;

  private SafeTensors(FileSource dir, LinkedHashMap<String, TensorInfo> tensors, List<String> files) {
    this.dir = dir;
    this.tensors = Collections.unmodifiableMap(tensors);
    this.names = List.copyOf(tensors.keySet());
    this.files = List.copyOf(files);
  }

  /**
   * Opens {@code model.safetensors} in {@code dir}, else the sharded {@code
   * model.safetensors.index.json}, reading and validating every header.
   *
   * @throws FileNotFoundException when neither exists (naming both), or a shard is missing
   * @throws IOException           for a malformed or truncated file (naming file and tensor)
   */
  public static SafeTensors open(FileSource dir) throws IOException {
    if (dir.exists(SINGLE_FILE)) {
      return new SafeTensors(dir, SafeTensorsHeader.read(dir, SINGLE_FILE), List.of(SINGLE_FILE));
    }
    if (dir.exists(INDEX_FILE)) {
      return openSharded(dir);
    }
    throw new FileNotFoundException("no safetensors weights: neither " + dir.describe(SINGLE_FILE)
        + " nor " + dir.describe(INDEX_FILE) + " exists");
  }

  /**
   * Opens one safetensors file of {@code dir} by name (any name, e.g. {@code
   * "agent-A/value_head.safetensors"}), reading and validating its header.
   *
   * @throws FileNotFoundException when the file does not exist (naming its location)
   * @throws IOException           for a malformed or truncated file (naming file and tensor)
   */
  public static SafeTensors open(FileSource dir, String file) throws IOException {
    if (!dir.exists(file)) {
      throw new FileNotFoundException("missing safetensors file " + dir.describe(file));
    }
    return new SafeTensors(dir, SafeTensorsHeader.read(dir, file), List.of(file));
  }

  private static SafeTensors openSharded(FileSource dir) throws IOException {
    String where = dir.describe(INDEX_FILE);
    LinkedHashMap<String, String> weightMap = readWeightMap(dir, where);
    Map<String, Map<String, TensorInfo>> shards = new LinkedHashMap<>();
    for (String shard : new LinkedHashSet<>(weightMap.values())) {
      if (!dir.exists(shard)) {
        throw new FileNotFoundException("missing shard " + dir.describe(shard) + " listed in "
            + where + " (for tensor " + firstTensorOf(weightMap, shard) + ")");
      }
      shards.put(shard, SafeTensorsHeader.read(dir, shard));
    }
    LinkedHashMap<String, TensorInfo> tensors = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : weightMap.entrySet()) {
      TensorInfo info = shards.get(e.getValue()).get(e.getKey());
      if (info == null) {
        throw new IOException(where + " maps tensor " + e.getKey() + " to "
            + dir.describe(e.getValue()) + ", which has no such tensor");
      }
      tensors.put(e.getKey(), info);
    }
    return new SafeTensors(dir, tensors, new ArrayList<>(shards.keySet()));
  }

  private static LinkedHashMap<String, String> readWeightMap(FileSource dir, String where)
      throws IOException {
    JsonNode root;
    try (InputStream in = dir.open(INDEX_FILE, 0)) {
      root = SafeTensorsHeader.JSON.readTree(in);
    } catch (JsonProcessingException e) {
      throw new IOException(where + ": malformed JSON: " + e.getOriginalMessage(), e);
    }
    JsonNode map = root == null ? null : root.get("weight_map");
    if (map == null || !map.isObject()) {
      throw new IOException(where + ": missing or malformed \"weight_map\" object");
    }
    LinkedHashMap<String, String> weightMap = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String shard = e.getValue().asText("");
      if (!e.getValue().isTextual() || shard.isEmpty() || shard.contains("..")) {
        throw new IOException(where + ": weight_map entry " + e.getKey()
            + " must name a shard file in the same directory, got " + e.getValue());
      }
      weightMap.put(e.getKey(), shard);
    }
    return weightMap;
  }

  private static String firstTensorOf(Map<String, String> weightMap, String shard) {
    return weightMap.entrySet().stream().filter(e -> e.getValue().equals(shard))
        .map(Map.Entry::getKey).findFirst().orElse("?");
  }

  /** All tensor names, in header order (single file) or {@code weight_map} order (sharded). */
  public List<String> names() {
    return names;
  }

  /** True if the checkpoint has a tensor called {@code name}. */
  public boolean contains(String name) {
    return tensors.containsKey(name);
  }

  /** The weight files read (relative names). */
  public List<String> files() {
    return files;
  }

  /**
   * Header information of {@code name}.
   *
   * @throws IllegalArgumentException naming the tensor, the files and the closest names when absent
   */
  public TensorInfo info(String name) {
    TensorInfo info = tensors.get(name);
    if (info == null) {
      throw new IllegalArgumentException("no tensor " + name + " in "
          + files.stream().map(dir::describe).collect(Collectors.joining(", "))
          + "; closest names: " + closestNames(name, 5) + " (" + names.size() + " tensors)");
    }
    return info;
  }

  /**
   * Copies tensor {@code name} into {@code dst}, widening F16/BF16/F32 (or narrowing F64) to
   * {@code dst}'s type.
   *
   * @param expectedShape the shape the caller's model needs; must equal the stored shape
   * @param dst           FLOAT or DOUBLE, c-order contiguous (a view into a larger buffer is
   *                      fine), with as many elements as the tensor; its own shape may differ
   * @throws IllegalArgumentException for an absent tensor, a shape mismatch (expected vs actual),
   *                                  a non-float dtype or an unsuitable {@code dst}
   * @throws IOException              when reading fails (the file changed since {@link #open})
   */
  /** Receives a tensor's elements in order, a chunk at a time ({@link #readInto(String, long[], Sink)}). */
  public interface Sink {
    /** True to receive doubles (a float64 destination), else floats. */
    boolean doubles();

    /** Elements {@code [at, at + n)} as floats. */
    void floats(long at, float[] chunk, int n);

    /** Elements {@code [at, at + n)} as doubles. */
    void doubles(long at, double[] chunk, int n);
  }

  /**
   * {@link #readInto(String, long[], INDArray)} into a destination that is not an ND4J array
   * (the engine's buffers where ND4J's native backend is absent): the same checks, the elements
   * handed to {@code sink} in chunks.
   */
  public void readInto(String name, long[] expectedShape, Sink sink) throws IOException {
    Readable r = readable(name, expectedShape);
    try (InputStream in = dir.open(r.t().file(), r.t().dataStartBytes())) {
      stream(in, r, sink);
    }
  }

  @SuppressWarnings("try") // the workspace scope is used for its side effect only
  public void readInto(String name, long[] expectedShape, INDArray dst) throws IOException {
    Readable r = readable(name, expectedShape);
    long elements = r.t().elements();
    checkDestination(r.where(), dst, elements);
    if (elements == 0) {
      return;
    }
    INDArray flat = flatView(dst, elements);
    boolean toDouble = flat.dataType() == DataType.DOUBLE;
    try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces();
        InputStream in = dir.open(r.t().file(), r.t().dataStartBytes())) {
      stream(in, r, new Sink() {
        @Override
        public boolean doubles() {
          return toDouble;
        }

        @Override
        public void floats(long at, float[] chunk, int n) {
          assign(flat, at, n, elements, Nd4j.createFromArray(chunk));
        }

        @Override
        public void doubles(long at, double[] chunk, int n) {
          assign(flat, at, n, elements, Nd4j.createFromArray(chunk));
        }
      });
    }
  }

  private static void assign(INDArray flat, long at, int n, long elements, INDArray chunk) {
    INDArray target = n == elements ? flat : flat.get(NDArrayIndex.interval(at, at + n));
    target.assign(chunk);
    // freed now, not when a GC happens to find the wrapper: a multi-GB model read in chunks
    // would otherwise leave its size in unreclaimed native memory (the memory plan counts none)
    chunk.close();
  }

  /** A tensor that exists with the expected shape and a float dtype, and where it is. */
  private record Readable(TensorInfo t, SafeTensorsDtype dtype, String where) {}

  private Readable readable(String name, long[] expectedShape) {
    TensorInfo t = info(name);
    String where = "tensor " + name + " in " + dir.describe(t.file());
    if (!Arrays.equals(t.shape(), expectedShape)) {
      throw new IllegalArgumentException(where + ": expected shape " + Arrays.toString(expectedShape)
          + " but file has " + Arrays.toString(t.shape()));
    }
    SafeTensorsDtype dtype = SafeTensorsDtype.parse(t.dtype());
    if (!dtype.readable()) {
      throw new IllegalArgumentException(where + ": dtype " + dtype + " cannot be read as floats"
          + " (readable: " + SafeTensorsDtype.readableNames() + ")");
    }
    return new Readable(t, dtype, where);
  }

  /** The tensor's elements from {@code in}, decoded a bounded chunk at a time, to {@code sink}. */
  private static void stream(InputStream in, Readable r, Sink sink) throws IOException {
    SafeTensorsDtype dtype = r.dtype();
    long elements = r.t().elements();
    int chunkElements = CHUNK_BYTES / dtype.bytes;
    byte[] bytes = new byte[(int) Math.max(1, Math.min(elements, chunkElements)) * dtype.bytes];
    for (long done = 0; done < elements; ) {
      int n = (int) Math.min(chunkElements, elements - done);
      SafeTensorsHeader.readFully(in, bytes, n * dtype.bytes, r.where(),
          "elements [" + done + ", " + (done + n) + ")");
      ByteBuffer le = ByteBuffer.wrap(bytes, 0, n * dtype.bytes).order(ByteOrder.LITTLE_ENDIAN);
      if (sink.doubles()) {
        sink.doubles(done, decodeDoubles(le, dtype, n), n);
      } else {
        sink.floats(done, decodeFloats(le, dtype, n), n);
      }
      done += n;
    }
  }

  private static float[] decodeFloats(ByteBuffer le, SafeTensorsDtype dtype, int n) {
    float[] out = new float[n];
    switch (dtype) {
      case F32 -> le.asFloatBuffer().get(out, 0, n);
      case F16 -> {
        for (int i = 0; i < n; i++) {
          out[i] = HalfFloats.f16ToFloat(le.getShort(2 * i));
        }
      }
      case BF16 -> {
        for (int i = 0; i < n; i++) {
          out[i] = HalfFloats.bf16ToFloat(le.getShort(2 * i));
        }
      }
      case F64 -> {
        for (int i = 0; i < n; i++) {
          out[i] = (float) le.getDouble(8 * i);
        }
      }
      default -> throw new IllegalStateException("not a float dtype: " + dtype);
    }
    return out;
  }

  private static double[] decodeDoubles(ByteBuffer le, SafeTensorsDtype dtype, int n) {
    double[] out = new double[n];
    if (dtype == SafeTensorsDtype.F64) {
      le.asDoubleBuffer().get(out, 0, n);
      return out;
    }
    float[] widened = decodeFloats(le, dtype, n);
    for (int i = 0; i < n; i++) {
      out[i] = widened[i];
    }
    return out;
  }

  private static void checkDestination(String where, INDArray dst, long elements) {
    if (dst.dataType() != DataType.FLOAT && dst.dataType() != DataType.DOUBLE) {
      throw new IllegalArgumentException(where + ": destination must be FLOAT or DOUBLE, got "
          + dst.dataType());
    }
    if (dst.length() != elements) {
      throw new IllegalArgumentException(where + ": destination has " + dst.length()
          + " elements " + Arrays.toString(dst.shape()) + " but the tensor has " + elements);
    }
    if (!isCContiguous(dst)) {
      throw new IllegalArgumentException(where + ": destination must be c-order contiguous, got "
          + "shape " + Arrays.toString(dst.shape()) + " stride " + Arrays.toString(dst.stride())
          + " order " + dst.ordering());
    }
  }

  /**
   * {@code (elements,)} view sharing {@code a}'s storage (a must be c-contiguous). Built with
   * {@link Shape#newShapeNoCopy}, which returns null rather than a copy, because ND4J's {@code
   * Nd4j.create(buffer, shape, stride, offset, ...)} treats the offset inconsistently for buffers
   * that are themselves views (M2.1: it is ignored when the buffer already carries an offset).
   */
  static INDArray flatView(INDArray a, long elements) {
    if (a.rank() == 1) {
      return a;
    }
    INDArray flat = Shape.newShapeNoCopy(a, new long[] {elements}, false);
    if (flat == null) {
      throw new IllegalStateException("no flat view of shape " + Arrays.toString(a.shape())
          + " stride " + Arrays.toString(a.stride()));
    }
    return flat;
  }

  /** Row-major with unit innermost stride and no gaps (size-1 axes may have any stride). */
  static boolean isCContiguous(INDArray a) {
    long[] shape = a.shape();
    long[] stride = a.stride();
    long expected = 1;
    for (int i = shape.length - 1; i >= 0; i--) {
      if (shape[i] != 1 && stride[i] != expected) {
        return false;
      }
      expected *= shape[i];
    }
    return true;
  }

  /** Up to {@code k} names closest to {@code name} by edit distance, for error messages. */
  List<String> closestNames(String name, int k) {
    return names.stream()
        .sorted(Comparator.comparingInt((String n) -> editDistance(name, n)).thenComparing(n -> n))
        .limit(k).collect(Collectors.toList());
  }

  private static int editDistance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int substitute = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
        cur[j] = Math.min(substitute, Math.min(prev[j], cur[j - 1]) + 1);
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }
}
