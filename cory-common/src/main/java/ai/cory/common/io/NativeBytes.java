package ai.cory.common.io;

import java.util.zip.CRC32C;
import org.bytedeco.javacpp.BytePointer;
import org.nd4j.linalg.api.concurrency.AffinityManager;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.factory.Nd4j;

/** The bytes of dense ND4J arrays as they lie in memory, read without copies (fingerprints). */
public final class NativeBytes {
  private NativeBytes() {}

  /**
   * Adds every byte of {@code array} (dense, in memory order; its host copy made current first)
   * to {@code crc}.
   *
   * @return the bytes added
   * @throws IllegalArgumentException for a strided view
   */
  public static long update(CRC32C crc, INDArray array) {
    if (array.length() == 0) {
      return 0;
    }
    if (!Shape.hasDefaultStridesForShape(array)) {
      throw new IllegalArgumentException("checksum needs a dense array, got " + array.shapeInfoToString());
    }
    Nd4j.getAffinityManager().ensureLocation(array, AffinityManager.Location.HOST);
    long bytes = array.length() * array.data().getElementSize();
    // addressPointer() includes a view's offset
    BytePointer start = new BytePointer(array.data().addressPointer());
    start.capacity(bytes);
    for (long done = 0; done < bytes; done += Integer.MAX_VALUE) {
      long n = Math.min(Integer.MAX_VALUE, bytes - done);
      crc.update(start.position(done).limit(done + n).asByteBuffer());
    }
    return bytes;
  }
}
