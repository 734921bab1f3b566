package ai.cory.common.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.io.LocalFileSource;
import ai.cory.common.testing.SharedAssets;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;

/** Shared helpers of the golden tests: cached FLOAT models, JSON arrays, tolerance checks. */
final class Golden {
  private static final Map<String, CausalLm> MODELS = new HashMap<>();

  private Golden() {}

  /** {@code assets/models/<name>} loaded in FLOAT (value head seeded 0), cached per JVM. */
  static synchronized CausalLm model(String name) {
    return MODELS.computeIfAbsent(name, n -> {
      try {
        return CausalLm.load(new LocalFileSource(SharedAssets.model(n)), DataType.FLOAT, 0);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    });
  }

  static int[] ints(JsonNode arr) {
    int[] out = new int[arr.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = arr.get(i).asInt();
    }
    return out;
  }

  static double[] doubles(JsonNode arr) {
    double[] out = new double[arr.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = arr.get(i).asDouble();
    }
    return out;
  }

  static int[][] intMatrix(JsonNode arr) {
    int[][] out = new int[arr.size()][];
    for (int i = 0; i < out.length; i++) {
      out[i] = ints(arr.get(i));
    }
    return out;
  }

  /** Logit-style check {@code |a - ref| <= 1e-4 + 1e-4 |ref|}; returns |a - ref|. */
  static double checkLogit(String what, double actual, double ref) {
    double err = Math.abs(actual - ref);
    assertTrue(err <= 1e-4 + 1e-4 * Math.abs(ref),
        what + ": " + actual + " vs golden " + ref + " (|diff| " + err + ")");
    return err;
  }

  /** Absolute check; returns |a - ref|. */
  static double checkAbs(String what, double actual, double ref, double tol) {
    double err = Math.abs(actual - ref);
    assertTrue(err <= tol, what + ": " + actual + " vs golden " + ref + " (|diff| " + err
        + " > " + tol + ")");
    return err;
  }
}
