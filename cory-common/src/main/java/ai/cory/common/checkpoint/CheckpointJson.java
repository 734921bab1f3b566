package ai.cory.common.checkpoint;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;

/**
 * The strict JSON mapping of the checkpoint files: unknown keys, duplicate keys and missing
 * primitives are errors (a file of a newer format fails loudly instead of half-loading), output
 * is pretty-printed with sorted map keys so that two equal states give identical bytes.
 */
final class CheckpointJson {
  static final ObjectMapper MAPPER = new ObjectMapper()
      .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
      .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
      .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
      .enable(DeserializationFeature.FAIL_ON_MISSING_CREATOR_PROPERTIES)
      .enable(SerializationFeature.INDENT_OUTPUT)
      .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS);

  private CheckpointJson() {}

  static byte[] write(Object value) {
    try {
      return MAPPER.writeValueAsBytes(value);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot serialise " + value.getClass().getSimpleName(), e);
    }
  }

  /**
   * Parses {@code bytes} as {@code type}.
   *
   * @param where the file, for the message
   * @throws IOException naming the file and the JSON problem (malformed, unknown or missing key,
   *                     an invalid value refused by the record's constructor)
   */
  static <T> T read(byte[] bytes, Class<T> type, String where) throws IOException {
    try {
      return MAPPER.readValue(bytes, type);
    } catch (JsonProcessingException e) {
      throw new IOException(where + ": not a valid " + type.getSimpleName() + ": "
          + e.getOriginalMessage(), e);
    } catch (IllegalArgumentException e) {
      throw new IOException(where + ": invalid " + type.getSimpleName() + ": " + e.getMessage(), e);
    }
  }
}
