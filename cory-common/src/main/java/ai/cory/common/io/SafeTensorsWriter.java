package ai.cory.common.io;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.Function;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Writes safetensors files the way the reference implementation (and {@code
 * shared/tools/fixtures/common.py}) lays them out: tensors in name order, header {@code
 * __metadata__ {"format": "pt"}} plus one entry per tensor, padded with spaces to a multiple of 8
 * bytes so the data is 8-byte aligned. Float tensors are stored as F32, F16, BF16 or F64 (narrowing
 * rounds to nearest even, {@link HalfFloats}); data is converted in chunks, never copied whole.
 */
public final class SafeTensorsWriter {
  private static final int CHUNK_ELEMENTS = 1 << 20;

  private SafeTensorsWriter() {}

  /** Writes {@code tensors} (name to array, any float type, any layout) to {@code file}. */
  public static void write(Path file, Map<String, INDArray> tensors, SafeTensorsDtype dtype)
      throws IOException {
    Path parent = file.toAbsolutePath().getParent();
    Files.createDirectories(parent);
    try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16)) {
      write(out, tensors, dtype);
    }
  }

  /** Writes one safetensors file to {@code out} (not closed). */
  public static void write(OutputStream out, Map<String, INDArray> tensors, SafeTensorsDtype dtype)
      throws IOException {
    write(out, tensors, a -> dtype);
  }

  /**
   * Writes one safetensors file to {@code out} (not closed), each tensor in the type that holds
   * it exactly ({@link SafeTensorsDtype#lossless}): what checkpoints need to resume bit-identically.
   */
  public static void writeLossless(OutputStream out, Map<String, INDArray> tensors)
      throws IOException {
    write(out, tensors, a -> SafeTensorsDtype.lossless(a.dataType()));
  }

  private static void write(OutputStream out, Map<String, INDArray> tensors,
      Function<INDArray, SafeTensorsDtype> dtypeOf) throws IOException {
    SortedMap<String, INDArray> sorted = new TreeMap<>(tensors);
    ObjectNode header = SafeTensorsHeader.JSON.createObjectNode();
    header.putObject("__metadata__").put("format", "pt");
    long offsetBytes = 0;
    for (Map.Entry<String, INDArray> e : sorted.entrySet()) {
      INDArray a = e.getValue();
      if (!a.dataType().isFPType()) {
        throw new IllegalArgumentException("tensor " + e.getKey() + ": only float arrays can be "
            + "written, got " + a.dataType());
      }
      SafeTensorsDtype dtype = dtypeOf.apply(a);
      if (!SafeTensorsDtype.writable().contains(dtype)) {
        throw new IllegalArgumentException("cannot store " + e.getKey() + " as " + dtype + ": the writer stores "
            + SafeTensorsDtype.writable());
      }
      long bytes = a.length() * dtype.bytes;
      ObjectNode entry = header.putObject(e.getKey());
      entry.put("dtype", dtype.name());
      var shape = entry.putArray("shape");
      for (long d : a.shape()) {
        shape.add(d);
      }
      entry.putArray("data_offsets").add(offsetBytes).add(offsetBytes + bytes);
      offsetBytes += bytes;
    }
    byte[] json = SafeTensorsHeader.JSON.writeValueAsBytes(header);
    int padded = (json.length + 7) / 8 * 8;
    byte[] headerBytes = new byte[padded];
    System.arraycopy(json, 0, headerBytes, 0, json.length);
    Arrays.fill(headerBytes, json.length, padded, (byte) ' ');
    out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).array());
    out.write(headerBytes);
    for (INDArray a : sorted.values()) {
      writeData(out, a, dtypeOf.apply(a));
    }
  }

  /**
   * Writes {@code tensors} as Hugging Face sharded weights into {@code dir} (created; files of
   * the same names are replaced).
   *
   * @return the shard files written
   * @see #writeSharded(FileSink, Map, SafeTensorsDtype, long)
   */
  public static List<Path> writeSharded(Path dir, Map<String, INDArray> tensors, SafeTensorsDtype dtype,
      long maxShardBytes) throws IOException {
    Files.createDirectories(dir);
    List<Path> files = new ArrayList<>();
    for (String name : writeSharded(replacingFiles(dir), tensors, dtype, maxShardBytes)) {
      files.add(dir.resolve(name));
    }
    return files;
  }

  /**
   * Writes {@code tensors} as Hugging Face sharded weights into {@code sink} (any file system):
   * {@code model-0000i-of-0000n.safetensors} (name order, a new shard whenever the next tensor
   * would push the current one past {@code maxShardBytes}) and {@code model.safetensors.index.json}.
   *
   * @return the names of the shard files written
   */
  public static List<String> writeSharded(FileSink sink, Map<String, INDArray> tensors, SafeTensorsDtype dtype,
      long maxShardBytes) throws IOException {
    List<SortedMap<String, INDArray>> shards = new ArrayList<>();
    long shardBytes = 0;
    long totalBytes = 0;
    for (Map.Entry<String, INDArray> e : new TreeMap<>(tensors).entrySet()) {
      long bytes = e.getValue().length() * dtype.bytes;
      if (shards.isEmpty() || (shardBytes > 0 && shardBytes + bytes > maxShardBytes)) {
        shards.add(new TreeMap<>());
        shardBytes = 0;
      }
      shards.get(shards.size() - 1).put(e.getKey(), e.getValue());
      shardBytes += bytes;
      totalBytes += bytes;
    }
    ObjectNode index = SafeTensorsHeader.JSON.createObjectNode();
    index.putObject("metadata").put("total_size", totalBytes);
    ObjectNode weightMap = index.putObject("weight_map");
    List<String> names = new ArrayList<>();
    for (int i = 0; i < shards.size(); i++) {
      String name = String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size());
      write(sink, name, shards.get(i), dtype);
      shards.get(i).keySet().forEach(t -> weightMap.put(t, name));
      names.add(name);
    }
    try (OutputStream out = sink.create(SafeTensors.INDEX_FILE)) {
      out.write(SafeTensorsHeader.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(index)
          .getBytes(StandardCharsets.UTF_8));
    }
    return names;
  }

  /** Writes one safetensors file {@code name} into {@code sink} (any file system). */
  public static void write(FileSink sink, String name, Map<String, INDArray> tensors, SafeTensorsDtype dtype)
      throws IOException {
    try (OutputStream out = new BufferedOutputStream(sink.create(name), 1 << 16)) {
      write(out, tensors, dtype);
    }
  }

  /** A local directory whose files are created or replaced. */
  private static FileSink replacingFiles(Path dir) {
    return new FileSink() {
      @Override
      public OutputStream create(String name) throws IOException {
        Path file = dir.resolve(name);
        Files.createDirectories(file.toAbsolutePath().getParent());
        return Files.newOutputStream(file);
      }

      @Override
      public String describe(String name) {
        return dir.resolve(name).toString();
      }
    };
  }

  @SuppressWarnings("try") // the workspace scope is used for its side effect only
  private static void writeData(OutputStream out, INDArray a, SafeTensorsDtype dtype) throws IOException {
    long elements = a.length();
    if (elements == 0) {
      return;
    }
    try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
      // (elements,) row-major values: a view when a is contiguous, else one c-order copy
      INDArray flat = SafeTensors.isCContiguous(a)
          ? SafeTensors.flatView(a, elements) : a.dup('c').reshape(elements);
      ByteBuffer le = ByteBuffer.allocate((int) Math.min(elements, CHUNK_ELEMENTS) * dtype.bytes)
          .order(ByteOrder.LITTLE_ENDIAN);
      for (long done = 0; done < elements; ) {
        int n = (int) Math.min(CHUNK_ELEMENTS, elements - done);
        INDArray chunk = n == elements ? flat : flat.get(NDArrayIndex.interval(done, done + n));
        le.clear();
        if (dtype == SafeTensorsDtype.F64) {
          for (double v : chunk.toDoubleVector()) {
            le.putDouble(v);
          }
        } else {
          for (float v : chunk.toFloatVector()) {
            switch (dtype) {
              case F32 -> le.putFloat(v);
              case F16 -> le.putShort(HalfFloats.floatToF16(v));
              case BF16 -> le.putShort(HalfFloats.floatToBf16(v));
              default -> throw new IllegalStateException(dtype.name());
            }
          }
        }
        out.write(le.array(), 0, le.position());
        done += n;
      }
    }
  }
}
