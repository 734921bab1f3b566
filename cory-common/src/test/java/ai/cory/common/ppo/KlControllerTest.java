package ai.cory.common.ppo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** Ziegler et al.'s adaptive controller on hand-computed numbers (beta 0.2, target 6, horizon 10000, n 256). */
final class KlControllerTest {
  private static final AdaptiveKlController CTL = new AdaptiveKlController(0.2, 6.0, 10000.0);

  @Test
  void proportionalErrorInsideTheClip() {
    // e = 6.6 / 6 - 1 = 0.1; beta = 0.2 (1 + 0.1 * 256 / 10000) = 0.200512
    assertEquals(0.200512, CTL.updated(6.6, 256).coef(), 1e-15);
    // e = 5.4 / 6 - 1 = -0.1; beta = 0.2 (1 - 0.00256) = 0.199488
    assertEquals(0.199488, CTL.updated(5.4, 256).coef(), 1e-15);
  }

  @Test
  void proportionalErrorIsClippedToPlusMinusPointTwo() {
    // e = 7.5 / 6 - 1 = 0.25 -> 0.2; beta = 0.2 (1 + 0.2 * 256 / 10000) = 0.201024
    assertEquals(0.201024, CTL.updated(7.5, 256).coef(), 1e-15);
    // e = -1 -> -0.2 (KL 0); beta = 0.2 (1 - 0.00512) = 0.198976
    assertEquals(0.198976, CTL.updated(0.0, 256).coef(), 1e-15);
  }

  @Test
  void updatesCompoundAndKeepTargetAndHorizon() {
    AdaptiveKlController twice = CTL.updated(7.5, 256).updated(7.5, 256);
    assertEquals(0.2 * 1.00512 * 1.00512, twice.coef(), 1e-15);
    assertEquals(6.0, twice.target(), 0.0);
    assertEquals(10000.0, twice.horizon(), 0.0);
  }

  @Test
  void fixedControllerNeverMoves() {
    KlController fixed = new FixedKlController(0.05);
    assertEquals(0.05, fixed.updated(100.0, 256).coef(), 0.0);
  }

  @Test
  void configChoosesTheController() {
    PpoConfig adaptive = PpoConfig.coryReferenceCode();
    KlController a = KlController.from(adaptive);
    assertInstanceOf(AdaptiveKlController.class, a);
    assertEquals(0.4, a.coef(), 0.0);
    KlController f = KlController.from(adaptive.toBuilder().adapKlCtrl(false).build());
    assertInstanceOf(FixedKlController.class, f);
    assertEquals(0.4, f.coef(), 0.0);
  }

  @Test
  void nonFiniteKlFailsLoudly() {
    assertThrows(IllegalArgumentException.class, () -> CTL.updated(Double.NaN, 256));
    assertThrows(IllegalArgumentException.class, () -> new AdaptiveKlController(0.2, 0.0, 10000));
    assertThrows(IllegalArgumentException.class, () -> new FixedKlController(-0.1));
  }
}
