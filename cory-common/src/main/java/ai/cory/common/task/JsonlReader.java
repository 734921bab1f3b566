package ai.cory.common.task;

import ai.cory.common.io.FileSource;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedInputStream;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.zip.GZIPInputStream;

/**
 * Reads JSON Lines (one JSON object per line, UTF-8), gzip-compressed or not: compression is
 * detected from the gzip magic bytes, not from the file name. Blank lines are skipped. Errors
 * name the file and the 1-based line number.
 */
public final class JsonlReader {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int GZIP_MAGIC_0 = 0x1f;
  private static final int GZIP_MAGIC_1 = 0x8b;

  private JsonlReader() {}

  /** One parsed line. */
  public record JsonlRecord(String description, int lineNumber, JsonNode value) {

    /**
     * The string field {@code field}.
     *
     * @throws IOException naming the file, line and field when it is missing or not a string
     */
    public String text(String field) throws IOException {
      JsonNode node = value.get(field);
      if (node == null || node.isNull()) {
        throw new IOException(where() + ": missing field '" + field + "'");
      }
      if (!node.isTextual()) {
        throw new IOException(where() + ": field '" + field + "' must be a string, got "
            + node.getNodeType().toString().toLowerCase(Locale.ROOT));
      }
      return node.asText();
    }

    /** The string field {@code field}, or null when absent. */
    public String optionalText(String field) throws IOException {
      return value.has(field) ? text(field) : null;
    }

    /** "file: line N", for messages. */
    public String where() {
      return description + ": line " + lineNumber;
    }
  }

  /** Receives each record. */
  @FunctionalInterface
  public interface RecordHandler {
    void accept(JsonlRecord record) throws IOException;
  }

  /** Reads {@code name} of {@code dir}; returns the number of records. */
  public static int read(FileSource dir, String name, RecordHandler handler) throws IOException {
    try (InputStream in = dir.open(name, 0)) {
      return read(in, dir.describe(name), handler);
    }
  }

  /**
   * Reads every record of {@code in} (not closed) in order.
   *
   * @param description the file's location, for messages
   * @return the number of records
   * @throws IOException on malformed JSON, a line that is not an object, or no record at all,
   *     naming {@code description} (and the line)
   */
  public static int read(InputStream in, String description, RecordHandler handler) throws IOException {
    BufferedReader reader = new BufferedReader(
        new InputStreamReader(decompressed(in), StandardCharsets.UTF_8));
    int lineNumber = 0;
    int records = 0;
    String line;
    while ((line = reader.readLine()) != null) {
      lineNumber++;
      if (line.isBlank()) {
        continue;
      }
      JsonNode value;
      try {
        value = JSON.readTree(line);
      } catch (JsonProcessingException e) {
        throw new IOException(description + ": line " + lineNumber + ": malformed JSON: "
            + e.getOriginalMessage(), e);
      }
      if (!value.isObject()) {
        throw new IOException(description + ": line " + lineNumber
            + ": expected a JSON object, got " + value.getNodeType().toString().toLowerCase(Locale.ROOT));
      }
      handler.accept(new JsonlRecord(description, lineNumber, value));
      records++;
    }
    if (records == 0) {
      throw new IOException(description + ": empty dataset (no JSON record in "
          + lineNumber + " lines)");
    }
    return records;
  }

  /** {@code in} itself, or a gunzipping view when it starts with the gzip magic bytes. */
  public static InputStream decompressed(InputStream in) throws IOException {
    BufferedInputStream buffered = new BufferedInputStream(in);
    buffered.mark(2);
    int b0 = buffered.read();
    int b1 = buffered.read();
    buffered.reset();
    return b0 == GZIP_MAGIC_0 && b1 == GZIP_MAGIC_1 ? new GZIPInputStream(buffered, 1 << 16) : buffered;
  }
}
