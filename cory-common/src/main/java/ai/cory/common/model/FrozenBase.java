package ai.cory.common.model;

import ai.cory.common.io.FileSource;
import ai.cory.common.io.NativeBytes;
import ai.cory.common.io.SafeTensors;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.zip.CRC32C;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The frozen base of a LoRA run in a compressed {@link BaseDtype}: every projection matrix packed
 * ({@link PackedMatrix}), everything else (embeddings, head, norms, biases) in the model's float
 * type. Built by streaming: one source tensor at a time is read into float scratch and packed, so
 * the whole model is never held in float32 (a 7B model's largest tensor is 45M weights). One base
 * per executor is shared by both agents' adapters and is itself CORY's reference model.
 */
public final class FrozenBase {
  /** Spread of random projection weights: std 0.02 like Hugging Face's init, uniform so generating billions is fast. */
  private static final double RANDOM_BOUND = 0.02 * Math.sqrt(3);

  private FrozenBase() {}

  /**
   * Loads a Hugging Face directory as a frozen base stored in {@code dtype}; {@link BaseDtype#FLOAT32}
   * is the ordinary dense model ({@link HfCheckpoint#load}).
   */
  public static CausalLm load(FileSource dir, DataType dataType, BaseDtype dtype, long valueHeadSeed)
      throws IOException {
    if (dtype == BaseDtype.FLOAT32) {
      return HfCheckpoint.load(dir, dataType, valueHeadSeed);
    }
    ModelConfig cfg = HfConfigReader.read(dir);
    SafeTensors st = SafeTensors.open(dir);
    ParamLayout full = ParamLayout.of(cfg);
    Parameters rest = restBuffer(full, dataType);
    Set<String> used = new HashSet<>();
    for (ParamLayout.Entry e : rest.layout().entries()) {
      if (!HfExport.isValueHead(e.name())) {
        String stored = HfCheckpoint.storedName(st, e.name(), cfg);
        st.readInto(stored, e.shape(), rest.get(e.name()));
        used.add(stored);
      }
    }
    rest.initValueHead(valueHeadSeed); // a base is never asked for values; agents have their own
    Matrix[][] packed = new Matrix[cfg.layers()][ParamLayout.Slot.values().length];
    for (int l = 0; l < cfg.layers(); l++) {
      for (ParamLayout.Slot slot : ParamLayout.Slot.values()) {
        int[] shape = Weights.slotShape(cfg, slot);
        PackedMatrix m = new PackedMatrix(dtype, shape[1], shape[0]);
        int row = 0;
        for (String name : ParamLayout.slotTensors(cfg, l, slot)) {
          ParamLayout.Entry e = full.entry(name);
          INDArray staging = Nd4j.create(DataType.FLOAT, e.shape());
          String stored = HfCheckpoint.storedName(st, name, cfg);
          st.readInto(stored, e.shape(), staging);
          used.add(stored);
          row += pack(m, row, staging, cfg.arch() == ModelConfig.Arch.LLAMA);
          staging.close();
        }
        m.finish();
        packed[l][slot.ordinal()] = Matrix.packed(m);
      }
    }
    HfCheckpoint.refuseUnexpected(dir, st, used, cfg);
    return CausalLm.packedBase(rest, packed);
  }

  /** A dense model's weights packed into {@code dtype} (the same model, compressed); float32 returns it. */
  public static CausalLm pack(CausalLm dense, BaseDtype dtype) {
    if (dtype == BaseDtype.FLOAT32 || dense.hasPackedBase()) {
      return dense;
    }
    ModelConfig cfg = dense.config();
    ParamLayout full = ParamLayout.of(cfg);
    Parameters rest = restBuffer(full, dense.dataType());
    for (ParamLayout.Entry e : rest.layout().entries()) {
      rest.span(e.name()).copyFrom(0, dense.params().span(e.name()), 0, e.length());
    }
    Matrix[][] packed = new Matrix[cfg.layers()][ParamLayout.Slot.values().length];
    float[] row = new float[0];
    for (int l = 0; l < cfg.layers(); l++) {
      for (ParamLayout.Slot slot : ParamLayout.Slot.values()) {
        int[] shape = Weights.slotShape(cfg, slot);
        PackedMatrix m = new PackedMatrix(dtype, shape[1], shape[0]);
        Matrix src = dense.weights().layers[l].matrix(slot);
        row = row.length < shape[0] ? new float[shape[0]] : row;
        for (int r = 0; r < shape[1]; r++) {
          src.readRow(r, shape[0], shape[1], row);
          m.packRow(r, row, 0);
        }
        m.finish();
        packed[l][slot.ordinal()] = Matrix.packed(m);
      }
    }
    return CausalLm.packedBase(rest, packed);
  }

  /**
   * A base of shape {@code cfg} with seeded random weights generated straight into packed form
   * (benchmarks of shapes whose weights cannot be downloaded, such as Llama-2-7B): projections
   * U(-a, a) with std 0.02, the rest as {@link Parameters#initRandom}.
   */
  public static CausalLm random(ModelConfig cfg, DataType dataType, BaseDtype dtype, long seed) {
    if (dtype == BaseDtype.FLOAT32) {
      return CausalLm.random(cfg, dataType, seed);
    }
    Parameters rest = restBuffer(ParamLayout.of(cfg), dataType);
    rest.initRandom(seed);
    Matrix[][] packed = new Matrix[cfg.layers()][ParamLayout.Slot.values().length];
    for (int l = 0; l < cfg.layers(); l++) {
      for (ParamLayout.Slot slot : ParamLayout.Slot.values()) {
        int[] shape = Weights.slotShape(cfg, slot);
        PackedMatrix m = new PackedMatrix(dtype, shape[1], shape[0]);
        long stream = seed * 1_000_003L + (long) l * 8 + slot.ordinal();
        int in = shape[0];
        Parallel.forRange(shape[1], 16, (part, from, to) -> {
          float[] row = new float[in];
          for (int r = from; r < to; r++) {
            SplittableRandom rng = new SplittableRandom(stream * 65_537L + r);
            for (int k = 0; k < in; k++) {
              row[k] = (float) (RANDOM_BOUND * (2 * rng.nextDouble() - 1));
            }
            m.packRow(r, row, 0);
          }
        });
        m.finish();
        packed[l][slot.ordinal()] = Matrix.packed(m);
      }
    }
    return CausalLm.packedBase(rest, packed);
  }

  /**
   * Bytes a base of shape {@code cfg} stored in {@code dtype} will occupy (the memory plan):
   * what {@link #bytes} measures once it is loaded.
   */
  public static long plannedBytes(ModelConfig cfg, DataType dataType, BaseDtype dtype) {
    ParamLayout full = ParamLayout.of(cfg);
    if (dtype == BaseDtype.FLOAT32) {
      return full.size() * dataType.width();
    }
    long total = restLayout(full).size() * dataType.width();
    for (int l = 0; l < cfg.layers(); l++) {
      for (ParamLayout.Slot slot : ParamLayout.Slot.values()) {
        int[] shape = Weights.slotShape(cfg, slot);
        total += PackedMatrix.plannedBytes(dtype, shape[1], shape[0]);
      }
    }
    return total;
  }

  /**
   * Bytes the base's weights occupy in memory: packed codes and scales plus the dense tensors.
   */
  public static long bytes(CausalLm base) {
    long total = base.params().layout().size() * (long) base.params().dataType().width();
    if (base.hasPackedBase()) {
      for (Weights.Layer layer : base.weights().layers) {
        for (ParamLayout.Slot slot : ParamLayout.Slot.values()) {
          total += layer.matrix(slot).packed.bytes();
        }
      }
    }
    return total;
  }

  /**
   * CRC32C of every stored byte of the base (dense buffer, then each packed matrix in order): the
   * same on every executor that loaded the same files into the same dtype, recorded in checkpoints
   * so a run never resumes onto another base.
   */
  public static long fingerprint(CausalLm base) {
    CRC32C crc = new CRC32C();
    NativeBytes.update(crc, base.params().flat());
    if (base.hasPackedBase()) {
      for (Weights.Layer layer : base.weights().layers) {
        for (ParamLayout.Slot slot : ParamLayout.Slot.values()) {
          layer.matrix(slot).packed.update(crc);
        }
      }
    }
    return crc.getValue();
  }

  private static Parameters restBuffer(ParamLayout full, DataType dataType) {
    return Parameters.zeros(restLayout(full), dataType);
  }

  /** The base's layout without its projection matrices (embeddings, head, norms, biases). */
  private static ParamLayout restLayout(ParamLayout full) {
    Set<String> projections = new HashSet<>();
    ModelConfig cfg = full.config();
    for (int l = 0; l < cfg.layers(); l++) {
      for (ParamLayout.Slot slot : ParamLayout.Slot.values()) {
        projections.addAll(ParamLayout.slotTensors(cfg, l, slot));
      }
    }
    return full.without(projections);
  }

  /**
   * Packs a source tensor's rows into {@code m} from row {@code at}: (out, in) as stored by
   * nn.Linear, or GPT-2's Conv1D (in, out) transposed on the way.
   *
   * @return rows written
   */
  private static int pack(PackedMatrix m, int at, INDArray staging, boolean outIn) {
    long[] shape = staging.shape();
    int rows = (int) (outIn ? shape[0] : shape[1]);
    int in = (int) (outIn ? shape[1] : shape[0]);
    FloatBuffer buf = staging.data().asNioFloat();
    Parallel.forRange(rows, 16, (part, from, to) -> {
      float[] row = new float[in];
      for (int r = from; r < to; r++) {
        if (outIn) {
          buf.get((int) ((long) r * in), row, 0, in);
        } else {
          for (int k = 0; k < in; k++) {
            row[k] = buf.get((int) ((long) k * rows + r));
          }
        }
        m.packRow(at + r, row, 0);
      }
    });
    return rows;
  }
}
