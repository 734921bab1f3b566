package ai.cory.worker.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** The replica fingerprint hashes exactly the bytes of a buffer (views included). */
final class ReplicaChecksumTest {

  /** CRC32C of the values as the JVM lays floats out in native memory. */
  private static long reference(float[] values) {
    ByteBuffer b = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.nativeOrder());
    for (float v : values) {
      b.putFloat(v);
    }
    b.flip();
    CRC32C crc = new CRC32C();
    crc.update(b);
    return crc.getValue();
  }

  @Test
  void crcOfAFlatBufferAndOfAViewAreTheCrcOfTheirBytes() {
    INDArray flat = Nd4j.rand(DataType.FLOAT, 1, 1000); // (1, P)
    assertEquals(reference(flat.toFloatVector()), ReplicaChecksum.crc32c(flat));
    INDArray view = flat.get(NDArrayIndex.point(0), NDArrayIndex.interval(123, 456)); // (333) at offset 123
    assertEquals(reference(view.toFloatVector()), ReplicaChecksum.crc32c(view));
    assertNotEquals(ReplicaChecksum.crc32c(flat), ReplicaChecksum.crc32c(view));
  }

  @Test
  void oneFlippedBitChangesTheChecksum() {
    INDArray a = Nd4j.rand(DataType.FLOAT, 1, 4096);
    INDArray b = a.dup();
    assertEquals(ReplicaChecksum.crc32c(a), ReplicaChecksum.crc32c(b));
    float v = b.getFloat(0, 2048);
    b.putScalar(0, 2048, Float.intBitsToFloat(Float.floatToRawIntBits(v) ^ 1)); // one ulp
    assertNotEquals(ReplicaChecksum.crc32c(a), ReplicaChecksum.crc32c(b));
  }

  @Test
  void differencesNameTheEntriesThatDiffer() {
    Map<String, Long> x = new LinkedHashMap<>(Map.of("A/params", 1L, "A/adam", 2L));
    Map<String, Long> y = new LinkedHashMap<>(Map.of("A/params", 1L, "A/adam", 3L));
    ReplicaChecksum a = new ReplicaChecksum(4, x, 16);
    assertTrue(a.differences(new ReplicaChecksum(4, x, 16)).isEmpty());
    List<String> diff = a.differences(new ReplicaChecksum(4, y, 16));
    assertEquals(List.of("A/adam 00000002 != 00000003"), diff);
    assertEquals(List.of("iteration 4 != 5"), a.differences(new ReplicaChecksum(5, x, 16)));
  }
}
