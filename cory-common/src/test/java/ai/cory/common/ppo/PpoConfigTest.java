package ai.cory.common.ppo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.OptionalDouble;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Presets follow the paper / the reference code / TRL; bad values fail naming the field. */
final class PpoConfigTest {

  @Test
  void paperDefaults() {
    PpoConfig c = PpoConfig.defaults();
    assertEquals(1.41e-5, c.learningRate(), 0.0);
    assertEquals(256, c.batchSize());
    assertEquals(256, c.miniBatchSize());
    assertEquals(1, c.gradientAccumulationSteps());
    assertEquals(4, c.ppoEpochs());
    assertEquals(1.0, c.gamma(), 0.0);
    assertEquals(0.95, c.lam(), 0.0);
    assertEquals(0.2, c.cliprange(), 0.0);
    assertEquals(0.2, c.cliprangeValue(), 0.0);
    assertEquals(0.1, c.vfCoef(), 0.0);
    assertEquals(10.0, c.ratioThreshold(), 0.0);
    assertEquals(0.3, c.initKlCoef(), 0.0);
    assertTrue(c.adapKlCtrl());
    assertEquals(6.0, c.target(), 0.0);
    assertEquals(10000.0, c.horizon(), 0.0);
    assertEquals(KlPenalty.KL, c.klPenalty());
    assertFalse(c.whitenRewards() || c.useScoreScaling() || c.useScoreNorm() || c.earlyStopping());
    assertTrue(c.scoreClip().isEmpty() && c.maxGradNorm().isEmpty());
    assertEquals(1.1920928955078125e-7, c.scoreScalingEps(), 0.0);
    assertEquals(256, c.backwardBatchSize());
    assertEquals(1, c.optimizerStepsPerEpoch());
  }

  @Test
  void referenceCodeAndTrlPresets() {
    PpoConfig cory = PpoConfig.coryReferenceCode();
    assertEquals(0.4, cory.initKlCoef(), 0.0);
    assertEquals(KlPenalty.FULL, cory.klPenalty());
    assertTrue(cory.useScoreScaling() && cory.useScoreNorm());
    PpoConfig trl = PpoConfig.trlDefaults();
    assertEquals(1e-5, trl.learningRate(), 0.0);
    assertEquals(1, trl.miniBatchSize());
    assertEquals(0.2, trl.initKlCoef(), 0.0);
    assertEquals(256, trl.optimizerStepsPerEpoch());
    assertEquals(PpoConfig.defaults(), PpoConfig.defaults().toBuilder().build());
  }

  @Test
  void invalidValuesNameTheField() {
    assertRejected(b -> b.miniBatchSize(0), "miniBatchSize");
    assertRejected(b -> b.batchSize(100).miniBatchSize(64), "batchSize (100) must be a multiple");
    assertRejected(b -> b.gradientAccumulationSteps(3), "miniBatchSize * gradientAccumulationSteps");
    assertRejected(b -> b.learningRate(Double.NaN), "learningRate");
    assertRejected(b -> b.gamma(1.5), "gamma");
    assertRejected(b -> b.lam(-0.1), "lam");
    assertRejected(b -> b.cliprange(0), "cliprange");
    assertRejected(b -> b.ratioThreshold(-1), "ratioThreshold");
    assertRejected(b -> b.useScoreNorm(true), "useScoreNorm");
    assertRejected(b -> b.scoreClip(OptionalDouble.of(-1)), "scoreClip");
    assertRejected(b -> b.maxGradNorm(OptionalDouble.of(0)), "maxGradNorm");
    assertRejected(b -> b.horizon(0), "horizon");
    assertThrows(NullPointerException.class, () -> PpoConfig.defaults().toBuilder().klPenalty(null).build());
  }

  @Test
  void gridsConvertAndCheckShapes() {
    double[][] g = {{1.5, -2.0, 0.25}, {3.0, 4.0, -0.5}};
    INDArray a = Grids.toINDArray(g, DataType.FLOAT); // (B, T)
    assertArrayEquals(new long[] {2, 3}, a.shape());
    assertEquals(DataType.FLOAT, a.dataType());
    double[][] back = Grids.fromINDArray("a", a);
    assertArrayEquals(g[1], back[1], 0.0);
    IllegalArgumentException ragged = assertThrows(IllegalArgumentException.class,
        () -> Grids.requireGrid("logProbs", new double[][] {{1, 2}, {3}}));
    assertTrue(ragged.getMessage().contains("logProbs is ragged"), ragged.getMessage());
    IllegalArgumentException rank = assertThrows(IllegalArgumentException.class,
        () -> Grids.fromINDArray("logProbs", Nd4j.zeros(DataType.FLOAT, 2, 3, 4)));
    assertTrue(rank.getMessage().contains("logProbs must be rank 2"), rank.getMessage());
  }

  private static void assertRejected(UnaryOperator<PpoConfig.Builder> change, String fragment) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> change.apply(PpoConfig.defaults().toBuilder()).build());
    assertTrue(e.getMessage().contains(fragment), () -> "'" + e.getMessage() + "' should mention " + fragment);
  }
}
