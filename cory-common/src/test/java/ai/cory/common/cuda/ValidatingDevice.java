package ai.cory.common.cuda;

import ai.cory.common.config.Compute;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A stand-in device for tests without a GPU: it computes nothing (downloads are zeros) but
 * checks everything a launch or copy could get wrong before arithmetic: the kernel exists, the
 * arguments match its declared signature, grid, block and shared-memory limits hold, block
 * reductions get whole warps, and every pointer and copy lies inside a live arena allocation.
 */
class ValidatingDevice implements DeviceOps {
  private static final long FAKE_BASE = 0x7f00_0000_0000L;
  private static final int MAX_DYNAMIC_SHARED = 40 << 10;

  private final Map<String, KernelSignature> signatures = KernelSource.allSignatures();
  private final Set<String> reducing = new TreeSet<>();
  private final List<long[]> live = new ArrayList<>();
  final Set<String> launched = new TreeSet<>();
  int gemms;
  private long next = FAKE_BASE;

  ValidatingDevice() {
    for (KernelSource s : KernelSource.all()) {
      for (String entry : s.entries()) {
        String body = body(s.text(), entry);
        if (body.matches("(?s).*\\b(warp_sum|block_sum|block_sum_d|block_max|block_count|count_at_least|mass_below|attention_row|softmax_in_place)\\(.*")) {
          reducing.add(entry);
        }
      }
    }
  }

  private static String body(String text, String entry) {
    int at = text.indexOf(" " + entry + "(");
    int end = text.indexOf("extern \"C\"", at + 1);
    return text.substring(at, end < 0 ? text.length() : end);
  }

  Set<String> reducingKernels() {
    return reducing;
  }

  @Override
  public DeviceArena arena(long bytes) {
    long base = next;
    next += (bytes + 4095) / 4096 * 4096 + 4096;
    long[] range = {base, base + bytes};
    live.add(range);
    allocated(base, bytes);
    return new DeviceArena(base, bytes, () -> {
      live.remove(range);
      freed(base);
    });
  }

  /** Hooks for a device that backs its arenas with memory ({@link EmulatedDevice}). */
  void allocated(long base, long bytes) {}

  void freed(long base) {}

  @Override
  public void launch(String name, int[] grid, int block, int sharedBytes, Object... args) {
    KernelSignature sig = signatures.get(name);
    if (sig == null) {
      throw new IllegalArgumentException("no kernel " + name);
    }
    sig.check(args);
    if (grid.length < 1 || grid.length > 3 || grid[0] < 1 || (grid.length > 1 && (grid[1] < 1 || grid[1] > 65535))
        || (grid.length > 2 && (grid[2] < 1 || grid[2] > 65535))) {
      throw new IllegalArgumentException(name + ": bad grid " + java.util.Arrays.toString(grid));
    }
    if (block < 1 || block > 1024) {
      throw new IllegalArgumentException(name + ": block of " + block + " threads");
    }
    if (reducing.contains(name) && block % 32 != 0) {
      throw new IllegalArgumentException(name + " reduces over the block: " + block
          + " threads is not a whole number of warps");
    }
    if (sharedBytes < 0 || sharedBytes > MAX_DYNAMIC_SHARED) {
      throw new IllegalArgumentException(name + ": " + sharedBytes + " bytes of dynamic shared memory");
    }
    for (int i = 0; i < args.length; i++) {
      if (sig.params().get(i).kind() == KernelSignature.Kind.POINTER && (Long) args[i] != 0L) {
        inside(name + " argument " + i + " (" + sig.params().get(i).declaration() + ")", (Long) args[i], 1);
      }
    }
    launched.add(name);
  }

  private void inside(String what, long ptr, long bytes) {
    for (long[] r : live) {
      if (ptr >= r[0] && ptr + bytes <= r[1]) {
        return;
      }
    }
    throw new IllegalArgumentException(what + ": " + Long.toHexString(ptr) + " + " + bytes
        + " bytes is outside every live allocation");
  }

  @Override
  public void gemm(Compute.GemmMath math, boolean transA, boolean transB, int m, int n, int k,
      float alpha, long a, int lda, long b, int ldb, float beta, long c, int ldc) {
    checkGemm(4, transA, transB, m, n, k, a, lda, b, ldb, c, ldc);
  }

  @Override
  public void gemmBf16(boolean transA, boolean transB, int m, int n, int k, float alpha, long a,
      int lda, long b, int ldb, float beta, long c, int ldc) {
    checkGemm(2, transA, transB, m, n, k, a, lda, b, ldb, c, ldc);
  }

  private void checkGemm(int elem, boolean transA, boolean transB, int m, int n, int k, long a,
      int lda, long b, int ldb, long c, int ldc) {
    if (m < 1 || n < 1 || k < 1 || lda < (transA ? m : k) || ldb < (transB ? k : n) || ldc < n) {
      throw new IllegalArgumentException("gemm " + m + "x" + n + "x" + k + " with lda " + lda
          + " ldb " + ldb + " ldc " + ldc);
    }
    // exact extents: a strided operand (one LoRA slot's columns of a fused output) may end
    // before its last row's stride does
    inside("gemm A", a, (long) elem * (((long) (transA ? k : m) - 1) * lda + (transA ? m : k)));
    inside("gemm B", b, (long) elem * (((long) (transB ? n : k) - 1) * ldb + (transB ? k : n)));
    inside("gemm C", c, 4L * (((long) m - 1) * ldc + n));
    gemms++;
  }

  @Override
  public void upload(long dst, float[] src) {
    inside("upload", dst, 4L * src.length);
  }

  @Override
  public void upload(long dst, int[] src) {
    inside("upload", dst, 4L * src.length);
  }

  @Override
  public void upload(long dst, double[] src) {
    inside("upload", dst, 8L * src.length);
  }

  @Override
  public void upload(long dst, byte[] src) {
    inside("upload", dst, src.length);
  }

  @Override
  public void zero(long dst, long bytes) {
    inside("zero", dst, bytes);
  }

  @Override
  public void copy(long dst, long src, long bytes) {
    inside("copy to", dst, bytes);
    inside("copy from", src, bytes);
  }

  @Override
  public void synchronize() {
    // nothing runs
  }

  @Override
  public float[] downloadFloats(long src, int n) {
    inside("download", src, 4L * n);
    return new float[n];
  }

  @Override
  public int[] downloadInts(long src, int n) {
    inside("download", src, 4L * n);
    return new int[n];
  }
}
