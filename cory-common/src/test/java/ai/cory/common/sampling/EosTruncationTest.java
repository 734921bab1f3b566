package ai.cory.common.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class EosTruncationTest {
  private static final int EOS = 9;

  @Test
  void cutsAfterTheFirstEosKeepsItAndPadsWithEos() {
    int[][] generated = {
        {1, 2, 3, 4},       // no EOS: kept whole
        {5, 9, 6, 9},       // first EOS at 1: tokens after it replaced
        {9, 7, 7, 7},       // EOS first: length 1
        {4, 4, 4, 9},       // EOS last
        {3}};               // shorter row: padded to the batch width
    int[][] before = deepCopy(generated);
    EosTruncation.Truncated t = EosTruncation.cutAfterFirstEos(generated, EOS);
    assertArrayEquals(new int[] {4, 2, 1, 4, 1}, t.lengths());
    assertArrayEquals(new int[] {1, 2, 3, 4}, t.tokens()[0]);
    assertArrayEquals(new int[] {5, 9, 9, 9}, t.tokens()[1]);
    assertArrayEquals(new int[] {9, 9, 9, 9}, t.tokens()[2]);
    assertArrayEquals(new int[] {4, 4, 4, 9}, t.tokens()[3]);
    assertArrayEquals(new int[] {3, 9, 9, 9}, t.tokens()[4]);
    for (int b = 0; b < generated.length; b++) {
      assertArrayEquals(before[b], generated[b], "input must not change");
    }
  }

  @Test
  void responseLengthWithinALimit() {
    assertEquals(2, EosTruncation.responseLength(new int[] {1, EOS, 3}, 3, EOS));
    assertEquals(1, EosTruncation.responseLength(new int[] {1, EOS, 3}, 1, EOS));
    assertEquals(0, EosTruncation.responseLength(new int[] {}, 0, EOS));
  }

  @Test
  void rejectsMissingEos() {
    assertThrows(IllegalArgumentException.class, () -> EosTruncation.cutAfterFirstEos(new int[][] {{1}}, -1));
  }

  private static int[][] deepCopy(int[][] a) {
    int[][] c = new int[a.length][];
    for (int i = 0; i < a.length; i++) {
      c[i] = a[i].clone();
    }
    return c;
  }
}
