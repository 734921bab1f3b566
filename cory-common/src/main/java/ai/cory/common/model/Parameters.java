package ai.cory.common.model;

import com.sun.management.OperatingSystemMXBean;
import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One flat buffer holding every tensor of a {@link ParamLayout}, with named views. Used for the
 * weights and, with the identical layout, for their gradients (and optimizer moments), so the
 * optimizer, the allreduce and the checkpoint writer each walk one contiguous buffer.
 */
public final class Parameters {
  private static final double GIB = 1024.0 * 1024 * 1024;
  private final ParamLayout layout;
  private final Span span; // (size) rank 1

  private Parameters(ParamLayout layout, Span span) {
    this.layout = layout;
    this.span = span;
  }

  /** Zero-filled buffer of {@code layout} in FLOAT or DOUBLE. */
  public static Parameters zeros(ParamLayout layout, DataType dataType) {
    if (dataType != DataType.FLOAT && dataType != DataType.DOUBLE) {
      throw new IllegalArgumentException("parameters are FLOAT or DOUBLE, got " + dataType);
    }
    requireMemoryFor(layout, dataType);
    return new Parameters(layout, HostMemory.zeros(dataType, layout.size()));
  }

  /**
   * Refuses a buffer larger than this machine's (or container's) memory before allocating it: a
   * native allocation that fails is a JVM crash, not an exception. (JavaCPP's byte limit does not
   * apply: ND4J allocates outside it.)
   *
   * @throws IllegalArgumentException naming the model's size and the memory there is
   */
  static void requireMemoryFor(ParamLayout layout, DataType dataType) {
    long bytes;
    try {
      bytes = Math.multiplyExact(layout.size(), (long) dataType.width());
    } catch (ArithmeticException e) {
      bytes = Long.MAX_VALUE;
    }
    long total = ((OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getTotalMemorySize();
    if (total > 0 && bytes > total) {
      throw new IllegalArgumentException(String.format(Locale.ROOT, "the %s model of %,d parameters (%s) needs "
          + "%.2f GiB as %s, more than the %.2f GiB of memory of this machine", layout.config().arch(),
          layout.size(), layout.config(), bytes / GIB, dataType, total / GIB));
    }
  }

  /** A new buffer with the same layout and dtype, filled with zeros. */
  public Parameters zerosLike() {
    return zeros(layout, dataType());
  }

  /** A deep copy (same layout and dtype). */
  public Parameters copy() {
    Parameters p = zerosLike();
    p.span.copyFrom(0, span, 0, span.length);
    return p;
  }

  /** The layout (names, shapes, offsets). */
  public ParamLayout layout() {
    return layout;
  }

  /** FLOAT or DOUBLE. */
  public DataType dataType() {
    return span.dataType();
  }

  /** The whole buffer, rank 1, {@code layout().size()} elements. */
  public INDArray flat() {
    if (!(span.base instanceof INDArray flat)) {
      throw new IllegalStateException("the parameters were allocated without ND4J (its native "
          + "backend is not on the class path): no INDArray view");
    }
    return flat;
  }

  /** Names in buffer order. */
  public List<String> names() {
    return layout.names();
  }

  /** View of one tensor in its HF shape; writes go to the flat buffer. */
  public INDArray get(String name) {
    ParamLayout.Entry e = layout.entry(name);
    return span.view(e.offset(), e.shape());
  }

  /** Sets every element to zero (memory-bound: split over the kernel threads). */
  /** Tensor {@code name}'s elements, row-major, as doubles (no ND4J needed). */
  public double[] values(String name) {
    Span s = span(name);
    double[] out = new double[Math.toIntExact(s.length)];
    s.read(0, out, 0, out.length);
    return out;
  }

  /** Sets tensor {@code name}'s elements, rounded to this buffer's precision (no ND4J needed). */
  public void set(String name, double[] values) {
    Span s = span(name);
    if (values.length != s.length) {
      throw new IllegalArgumentException(values.length + " values for " + name + " of "
          + s.length);
    }
    s.write(0, values, 0, values.length);
  }

  public void zero() {
    long n = span.length;
    int parts = Parallel.threads();
    Parallel.forRange(parts, 1, (part, from, to) -> {
      for (int p = from; p < to; p++) {
        long a = n * p / parts;
        span.zero(a, n * (p + 1) / parts - a);
      }
    });
  }

  /** Copies all values from {@code other} (same layout and dtype). */
  public void copyFrom(Parameters other) {
    if (other.layout.size() != layout.size() || other.dataType() != dataType()) {
      throw new IllegalArgumentException("cannot copy " + other.layout.size() + " "
          + other.dataType() + " parameters into " + layout.size() + " " + dataType());
    }
    span.copyFrom(0, other.span, 0, span.length);
  }

  /** Span of one tensor (package use by the kernels). */
  Span span(String name) {
    ParamLayout.Entry e = layout.entry(name);
    return span.slice(e.offset(), e.length());
  }

  /** Span covering {@code first} through {@code last} inclusive, which must be adjacent. */
  Span spanRange(String first, String last) {
    ParamLayout.Entry a = layout.entry(first);
    ParamLayout.Entry b = layout.entry(last);
    return span.slice(a.offset(), b.offset() + b.length() - a.offset());
  }

  /** The whole buffer as a span. */
  Span span() {
    return span;
  }

  /**
   * Seeded initialisation like Hugging Face's {@code _init_weights}: matrices N(0, 0.02),
   * biases 0, norm gains 1; LoRA's A U(-1/sqrt(in), 1/sqrt(in)) and B 0 as PEFT; the value head
   * like {@code nn.Linear}'s default,
   * U(-1/sqrt(C), 1/sqrt(C)) for weight and bias. Each tensor draws from its own stream
   * (seed, index), so adding a tensor never changes the others.
   */
  public void initRandom(long seed) {
    List<ParamLayout.Entry> entries = layout.entries();
    for (int i = 0; i < entries.size(); i++) {
      initTensor(i, seed);
    }
  }

  /** Fresh seeded value head (a pretrained LM checkpoint has none), as {@link #initRandom}. */
  public void initValueHead(long seed) {
    List<ParamLayout.Entry> entries = layout.entries();
    for (int i = 0; i < entries.size(); i++) {
      if (entries.get(i).name().startsWith("v_head.")) {
        initTensor(i, seed);
      }
    }
  }

  private void initTensor(int index, long seed) {
    ParamLayout.Entry e = layout.entries().get(index);
    SplittableRandom rng = new SplittableRandom(seed * 1_000_003L + index);
    Init kind = initOf(e);
    double bound = 1.0 / Math.sqrt(layout.config().hidden());
    double[] buf = new double[(int) Math.min(8192, e.length())];
    for (long done = 0; done < e.length(); done += buf.length) {
      int n = (int) Math.min(buf.length, e.length() - done);
      for (int k = 0; k < n; k++) {
        buf[k] = switch (kind) {
          case NORMAL -> 0.02 * rng.nextGaussian();
          case ZERO -> 0.0;
          case ONE -> 1.0;
          case VALUE_HEAD -> bound * (2 * rng.nextDouble() - 1);
          case LORA_A -> (2 * rng.nextDouble() - 1) / Math.sqrt(e.shape()[1]);
        };
      }
      span.write(e.offset() + done, buf, 0, n);
    }
  }

  private enum Init { NORMAL, ZERO, ONE, VALUE_HEAD, LORA_A }

  private static Init initOf(ParamLayout.Entry e) {
    String n = e.name();
    if (n.endsWith(".lora_A.weight")) {
      return Init.LORA_A; // PEFT: kaiming_uniform_(a=sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in))
    } else if (n.endsWith(".lora_B.weight")) {
      return Init.ZERO;
    } else if (n.startsWith("v_head.")) {
      return Init.VALUE_HEAD;
    } else if (n.contains("ln_") || n.contains("layernorm") || n.equals("model.norm.weight")) {
      return n.endsWith(".bias") ? Init.ZERO : Init.ONE;
    } else if (n.endsWith(".bias")) {
      return Init.ZERO;
    }
    return Init.NORMAL;
  }
}
