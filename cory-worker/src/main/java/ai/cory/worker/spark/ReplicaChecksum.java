package ai.cory.worker.spark;

import ai.cory.common.io.NativeBytes;
import ai.cory.common.ppo.RunningMoments;
import ai.cory.worker.train.Agent;
import ai.cory.worker.train.CoryTrainer;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.zip.CRC32C;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Fingerprint of a replica's training state after an iteration: CRC32C of every byte of each
 * agent's flat parameter buffer (weights and value head; with LoRA its adapters and value head)
 * and Adam moments, of the frozen LoRA base (hashed once at load), and of its training
 * scalars (Adam step count, KL coefficient, running score moments), plus who holds the pioneer
 * slot. Synchronous data parallelism must leave every replica bit-identical, so the driver
 * compares the fingerprints of all workers and fails the run on any difference.
 *
 * @param iteration the iteration just completed
 * @param crc32c    {@code <agent>/params}, {@code <agent>/adam}, {@code <agent>/scalars} and
 *                  {@code pioneer} -> CRC32C value, in a stable order
 * @param bytes     bytes hashed in total (what verification costs)
 */
public record ReplicaChecksum(long iteration, Map<String, Long> crc32c, long bytes) implements Serializable {
  private static final long serialVersionUID = 1L;

  public ReplicaChecksum {
    crc32c = Collections.unmodifiableMap(new LinkedHashMap<>(Objects.requireNonNull(crc32c, "crc32c")));
  }

  /** The fingerprint of {@code trainer}'s agents after {@code iteration}. */
  public static ReplicaChecksum of(long iteration, CoryTrainer trainer) {
    Map<String, Long> out = new LinkedHashMap<>();
    long bytes = 0;
    for (Agent agent : trainer.agents()) {
      String key = agent.id().key();
      INDArray params = agent.policy().paramsToRead().flat(); // (P)
      INDArray adam = agent.optimizer().stateToRead();          // (1, 2P): m | v
      out.put(key + "/params", crc32c(params));
      out.put(key + "/adam", crc32c(adam));
      out.put(key + "/scalars", scalars(agent));
      bytes += (params.length() + adam.length()) * params.data().getElementSize();
    }
    Long base = trainer.baseFingerprint(); // LoRA's frozen base: computed once at load, never written after
    if (base != null) {
      out.put("base", base);
    }
    CRC32C pioneer = new CRC32C();
    pioneer.update(trainer.pioneer().ordinal());
    out.put("pioneer", pioneer.getValue());
    return new ReplicaChecksum(iteration, out, bytes);
  }

  /** CRC32C of the bytes of a dense array in memory order (host copy made current first). */
  static long crc32c(INDArray array) {
    CRC32C crc = new CRC32C();
    NativeBytes.update(crc, array);
    return crc.getValue();
  }

  private static long scalars(Agent agent) {
    RunningMoments m = agent.scoreMoments();
    ByteBuffer b = ByteBuffer.allocate(Long.BYTES * 6).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(agent.optimizer().steps());
    b.putDouble(agent.kl().coef());
    b.putDouble(m.mean()).putDouble(m.var()).putDouble(m.std()).putDouble(m.count());
    b.flip();
    CRC32C crc = new CRC32C();
    crc.update(b);
    return crc.getValue();
  }

  /**
   * The entries where {@code other} differs from this one (empty when identical), e.g.
   * {@code "A/params 1a2b3c4d != 5e6f7a8b"}.
   */
  public List<String> differences(ReplicaChecksum other) {
    List<String> out = new ArrayList<>();
    if (other.iteration != iteration) {
      out.add("iteration " + iteration + " != " + other.iteration);
    }
    for (Map.Entry<String, Long> e : crc32c.entrySet()) {
      Long theirs = other.crc32c.get(e.getKey());
      if (!e.getValue().equals(theirs)) {
        out.add(e.getKey() + " " + hex(e.getValue()) + " != " + (theirs == null ? "absent" : hex(theirs)));
      }
    }
    for (String k : other.crc32c.keySet()) {
      if (!crc32c.containsKey(k)) {
        out.add(k + " absent != " + hex(other.crc32c.get(k)));
      }
    }
    return out;
  }

  /** Compact form for logs: {@code A/params=1a2b3c4d ...}. */
  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("iteration ").append(iteration).append(':');
    crc32c.forEach((k, v) -> sb.append(' ').append(k).append('=').append(hex(v)));
    return sb.toString();
  }

  private static String hex(long v) {
    return String.format("%08x", v);
  }
}
