package ai.cory.common.model;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Where the engine's host buffers come from. With ND4J's native backend on the class path (the
 * product) every buffer is an ND4J array, so parameters, workspaces and results can be handed to
 * the trainer as INDArrays. Without it (the GPU check bundle, which cannot carry ND4J's 315 MB
 * native library) buffers are plain JavaCPP allocations: the engine's own arithmetic needs only
 * a pointer, an NIO view and OpenBLAS, and the INDArray views ({@code Parameters.flat()},
 * {@code CausalLm.forward}'s results) refuse by name.
 */
public final class HostMemory {
  private static volatile boolean nd4j = nd4jOnClassPath();

  private HostMemory() {}

  /** True where buffers are ND4J arrays. */
  public static boolean nd4j() {
    return nd4j;
  }

  /**
   * Makes the buffers allocated from now on ND4J arrays ({@code true}, when its backend is
   * present) or JavaCPP allocations: tests run the engine both ways in one JVM.
   */
  public static void useNd4j(boolean on) {
    if (on && !nd4jOnClassPath()) {
      throw new IllegalStateException("ND4J's native backend is not on the class path");
    }
    nd4j = on;
  }

  /** True when a native ND4J backend (CPU or CUDA) can be loaded. */
  static boolean nd4jOnClassPath() {
    for (String backend : new String[] {"org.nd4j.linalg.cpu.nativecpu.CpuBackend",
        "org.nd4j.linalg.jcublas.JCublasBackend"}) {
      try {
        Class.forName(backend, false, HostMemory.class.getClassLoader());
        return true;
      } catch (ClassNotFoundException | LinkageError e) {
        // try the next
      }
    }
    return false;
  }

  /** A zeroed byte buffer (little-endian) and the allocation that keeps it alive. */
  record Bytes(Object owner, ByteBuffer buffer) {}

  /** {@code n >= 1} zeroed bytes. */
  static Bytes bytes(long n) {
    if (nd4j) {
      INDArray a = Nd4j.create(DataType.BYTE, n);
      BytePointer p = new BytePointer(a.data().addressPointer());
      p.capacity(n);
      return new Bytes(a, p.asByteBuffer().order(ByteOrder.LITTLE_ENDIAN));
    }
    BytePointer p = new BytePointer(n);
    Pointer.memset(p, 0, n);
    return new Bytes(p, p.asByteBuffer().order(ByteOrder.LITTLE_ENDIAN));
  }

  /** A zeroed rank-1 FLOAT or DOUBLE buffer of {@code n} elements. */
  static Span zeros(DataType type, long n) {
    return nd4j ? Span.of(Nd4j.create(type, n)) : Span.allocate(type, n);
  }
}
