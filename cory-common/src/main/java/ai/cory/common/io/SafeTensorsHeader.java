package ai.cory.common.io;

import ai.cory.common.io.SafeTensors.TensorInfo;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parses and validates the header of one safetensors file: an 8-byte little-endian header length
 * N, N bytes of UTF-8 JSON {@code {name: {"dtype", "shape", "data_offsets": [begin, end]},
 * "__metadata__": {...}}}, then the tensor bytes, offsets relative to byte 8 + N
 * (https://github.com/huggingface/safetensors#format). Every tensor's byte range is checked
 * against its dtype and shape and against the real file size here, so a truncated or corrupt
 * file fails at open time, not half-way through loading a model.
 */
final class SafeTensorsHeader {
  /** The reference implementation refuses headers above 100 MB; so do we. */
  static final long MAX_HEADER_BYTES = 100L << 20;

  static final ObjectMapper JSON =
      new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

  private SafeTensorsHeader() {}

  /** Tensors of {@code file} in header order, with absolute byte ranges. */
  static LinkedHashMap<String, TensorInfo> read(FileSource dir, String file) throws IOException {
    String where = dir.describe(file);
    long fileBytes = dir.size(file);
    if (fileBytes < 8) {
      throw new IOException(where + ": not a safetensors file: " + fileBytes
          + " bytes, fewer than the 8-byte header length field");
    }
    JsonNode root;
    long dataBase;
    try (InputStream in = dir.open(file, 0)) {
      byte[] lengthField = readFully(in, 8, where, "header length field");
      long headerBytes = ByteBuffer.wrap(lengthField).order(ByteOrder.LITTLE_ENDIAN).getLong();
      if (headerBytes < 2 || headerBytes > MAX_HEADER_BYTES) {
        throw new IOException(where + ": not a safetensors file: header length field says "
            + headerBytes + " bytes (expected 2.." + MAX_HEADER_BYTES + ")");
      }
      if (8 + headerBytes > fileBytes) {
        throw new IOException(where + ": truncated file: header needs " + (8 + headerBytes)
            + " bytes but the file has only " + fileBytes);
      }
      byte[] headerJson = readFully(in, (int) headerBytes, where, "JSON header");
      try {
        root = JSON.readTree(headerJson);
      } catch (JsonProcessingException e) {
        throw new IOException(where + ": malformed safetensors header JSON: "
            + e.getOriginalMessage(), e);
      }
      dataBase = 8 + headerBytes;
    }
    if (root == null || !root.isObject()) {
      throw new IOException(where + ": malformed safetensors header: expected a JSON object, got "
          + (root == null ? "nothing" : root.getNodeType()));
    }
    LinkedHashMap<String, TensorInfo> tensors = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!e.getKey().equals("__metadata__")) {
        tensors.put(e.getKey(), entry(e.getKey(), e.getValue(), file, where, dataBase, fileBytes));
      }
    }
    checkNoOverlap(tensors, where);
    return tensors;
  }

  private static TensorInfo entry(String name, JsonNode node, String file, String where,
      long dataBase, long fileBytes) throws IOException {
    String context = "tensor " + name + " in " + where;
    if (!node.isObject()) {
      throw new IOException(context + ": malformed header entry, expected an object, got " + node);
    }
    JsonNode dtypeNode = node.get("dtype");
    SafeTensorsDtype dtype = dtypeNode != null && dtypeNode.isTextual()
        ? SafeTensorsDtype.parse(dtypeNode.asText()) : null;
    if (dtype == null) {
      throw new IOException(context + ": unknown dtype " + dtypeNode);
    }
    long[] shape = longArray(node.get("shape"), -1, context, "shape");
    long[] offsets = longArray(node.get("data_offsets"), 2, context, "data_offsets");
    long elements;
    try {
      elements = 1;
      for (long d : shape) {
        elements = Math.multiplyExact(elements, d);
      }
      long needBytes = Math.multiplyExact(elements, (long) dtype.bytes);
      if (offsets[1] < offsets[0] || offsets[1] - offsets[0] != needBytes) {
        throw new IOException(context + ": dtype " + dtype + " shape " + Arrays.toString(shape)
            + " needs " + needBytes + " bytes but data_offsets [" + offsets[0] + ", " + offsets[1]
            + "] span " + (offsets[1] - offsets[0]));
      }
    } catch (ArithmeticException overflow) {
      throw new IOException(context + ": shape " + Arrays.toString(shape) + " overflows");
    }
    long start = dataBase + offsets[0];
    long end = dataBase + offsets[1];
    if (end > fileBytes) {
      throw new IOException(context + ": truncated file: the tensor's data ends at byte " + end
          + " but the file has only " + fileBytes + " bytes (" + (end - fileBytes) + " missing)");
    }
    return new TensorInfo(name, dtype.name(), shape, file, start, end);
  }

  private static long[] longArray(JsonNode node, int length, String context, String key)
      throws IOException {
    boolean ok = node != null && node.isArray() && (length < 0 || node.size() == length);
    long[] values = new long[ok ? node.size() : 0];
    for (int i = 0; ok && i < values.length; i++) {
      JsonNode v = node.get(i);
      ok = v.isIntegralNumber() && v.canConvertToLong() && v.asLong() >= 0;
      values[i] = v.asLong();
    }
    if (!ok) {
      throw new IOException(context + ": '" + key + "' must be an array of "
          + (length < 0 ? "" : length + " ") + "non-negative integers, got " + node);
    }
    return values;
  }

  private static void checkNoOverlap(Map<String, TensorInfo> tensors, String where)
      throws IOException {
    List<TensorInfo> byStart = new ArrayList<>(tensors.values());
    byStart.sort(Comparator.comparingLong(TensorInfo::dataStartBytes));
    for (int i = 1; i < byStart.size(); i++) {
      TensorInfo prev = byStart.get(i - 1);
      TensorInfo next = byStart.get(i);
      if (next.dataStartBytes() < prev.dataEndBytes()) {
        throw new IOException(where + ": tensors " + prev.name() + " [" + prev.dataStartBytes()
            + ", " + prev.dataEndBytes() + ") and " + next.name() + " [" + next.dataStartBytes()
            + ", " + next.dataEndBytes() + ") overlap");
      }
    }
  }

  static byte[] readFully(InputStream in, int length, String where, String what)
      throws IOException {
    byte[] bytes = new byte[length];
    readFully(in, bytes, length, where, what);
    return bytes;
  }

  /** Fills {@code bytes[0, length)}; a short read names the file and what was being read. */
  static void readFully(InputStream in, byte[] bytes, int length, String where, String what)
      throws IOException {
    int done = 0;
    while (done < length) {
      int n = in.read(bytes, done, length - done);
      if (n < 0) {
        throw new EOFException(where + ": file ended while reading " + what + ": got " + done
            + " of " + length + " bytes");
      }
      done += n;
    }
  }
}
