package ai.cory.common.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One CUDA C source shipped in the jar ({@code ai/cory/common/cuda/kernels/<name>.cu}) and the
 * {@code extern "C" __global__} entry points it defines. The sources include no header (NVRTC
 * ships none of {@code cuda_bf16.h} / {@code cuda_fp16.h}): bf16 and fp16 are converted by bit
 * manipulation and PTX in {@code common.cuh}, which is prepended to every source.
 */
public record KernelSource(String name, String text, Map<String, KernelSignature> signatures) {
  /** Every kernel source, in the order the GPU check runs them. */
  public static final List<String> NAMES = List.of("elementwise", "norms", "rope", "embedding",
      "attention", "vocab", "sampling", "adam", "dequant");

  private static final String DIR = "/ai/cory/common/cuda/kernels/";

  /** Every kernel source with the common header prepended. */
  public static List<KernelSource> all() {
    String common = resource("common.cuh");
    List<KernelSource> all = new ArrayList<>();
    for (String name : NAMES) {
      all.add(of(name, "#line 1 \"common.cuh\"\n" + common + "\n#line 1 \"" + name
          + ".cu\"\n" + resource(name + ".cu")));
    }
    return all;
  }

  static KernelSource of(String name, String text) {
    return new KernelSource(name, text, KernelSignature.parse(text));
  }

  /** The entry points, in source order. */
  public List<String> entries() {
    return List.copyOf(signatures.keySet());
  }

  /** Every entry point's signature over all sources. */
  public static Map<String, KernelSignature> allSignatures() {
    Map<String, KernelSignature> all = new java.util.TreeMap<>();
    for (KernelSource s : all()) {
      all.putAll(s.signatures());
    }
    return all;
  }

  private static String resource(String file) {
    try (InputStream in = KernelSource.class.getResourceAsStream(DIR + file)) {
      if (in == null) {
        throw new IllegalStateException("kernel source missing from the jar: " + DIR + file);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
