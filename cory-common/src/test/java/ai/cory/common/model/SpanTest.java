package ai.cory.common.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** Offsets of spans: zero / copy / pointer / views agree with ND4J's own indexing. */
class SpanTest {
  @Test
  void zeroAndCopyRespectElementOffsetsInBothPrecisions() {
    for (DataType dt : new DataType[] {DataType.FLOAT, DataType.DOUBLE}) {
      INDArray arr = Nd4j.arange(0, 20).castTo(dt);
      Span s = Span.of(arr).slice(3, 10); // elements 3..12
      s.zero(2, 3);                        // elements 5, 6, 7
      s.copyFrom(6, Span.of(arr), 15, 2);  // elements 9, 10 <- 15, 16
      double[] expected = {0, 1, 2, 3, 4, 0, 0, 0, 8, 15, 16, 11, 12, 13, 14, 15, 16, 17, 18, 19};
      for (int i = 0; i < 20; i++) {
        assertEquals(expected[i], arr.getDouble(i), dt + " element " + i);
      }
      INDArray view = s.view(1, 3, 3); // elements 4..12 as (3, 3)
      assertEquals(15.0, view.getDouble(1, 2), dt + " view");
    }
  }

  @Test
  void spansOfContiguousViewsAddressTheViewedElements() {
    INDArray flat = Nd4j.arange(0, 100).castTo(DataType.FLOAT);
    INDArray view = flat.get(NDArrayIndex.interval(40, 60)).reshape(4, 5);
    Span s = Span.of(view);
    assertEquals(47.0, s.get(7));
    s.zero(0, 1);
    assertEquals(0.0, flat.getDouble(40));
    assertThrows(IllegalArgumentException.class, () -> Span.of(Nd4j.create(DataType.FLOAT, 4, 5)
        .transpose()));
  }
}
