package ai.cory.common.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class SamplingParamsTest {

  @Test
  void neutralDefaults() {
    SamplingParams d = SamplingParams.defaults();
    assertFalse(d.greedy());
    assertEquals(1.0, d.temperature());
    assertEquals(0, d.topK());
    assertEquals(1.0, d.topP());
    assertEquals(1.0, d.repetitionPenalty());
    assertFalse(d.penalizes());
    assertTrue(d.withRepetitionPenalty(1.1).penalizes());
    assertTrue(SamplingParams.greedyDecoding().greedy());
  }

  @Test
  void invalidValuesNameTheParameter() {
    assertMessage("temperature", () -> new SamplingParams(false, 0.0, 0, 1, 1));
    assertMessage("temperature", () -> new SamplingParams(false, Double.NaN, 0, 1, 1));
    assertMessage("temperature", () -> new SamplingParams(false, Double.POSITIVE_INFINITY, 0, 1, 1));
    assertMessage("topK", () -> new SamplingParams(false, 1, -1, 1, 1));
    assertMessage("topP", () -> new SamplingParams(false, 1, 0, 1.01, 1));
    assertMessage("topP", () -> new SamplingParams(false, 1, 0, -0.1, 1));
    assertMessage("topP", () -> new SamplingParams(false, 1, 0, Double.NaN, 1));
    assertMessage("repetitionPenalty", () -> new SamplingParams(false, 1, 0, 1, 0));
    assertMessage("repetitionPenalty", () -> new SamplingParams(false, 1, 0, 1, -1.1));
    // Boundaries that are valid (HF accepts top_p 0 and 1).
    new SamplingParams(false, 1e-3, 0, 0.0, 1e-3);
  }

  private static void assertMessage(String name, Runnable r) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
    assertTrue(e.getMessage().contains(name), e.getMessage());
  }
}
