package ai.cory.driver.train;

import ai.cory.worker.spark.TaskReport;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * {@code replicas.jsonl}: per iteration, where each worker ran and its replica's fingerprint
 * (the CRC32C values the driver compared), e.g.
 * {@code {"iteration":0,"workers":[{"rank":0,"executor":"driver","host":"127.0.0.1","replica":1,
 * "endpoint":"ipc://1129447425","loaded":true,"ring_connected":true,"setup_s":1.2,"iteration_s":3.4,"checksum":{"A/params":"1a2b3c4d",...}},...]}}.
 */
final class ReplicaLog implements Closeable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final BufferedWriter out;

  /** @param append continue an existing file (a resumed run) instead of truncating it */
  ReplicaLog(Path file, boolean append) throws IOException {
    out = append
        ? Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND)
        : Files.newBufferedWriter(file, StandardCharsets.UTF_8);
  }

  void write(long iteration, List<TaskReport> reports) throws IOException {
    ObjectNode line = JSON.createObjectNode();
    line.put("iteration", iteration);
    ArrayNode workers = line.putArray("workers");
    reports.stream().sorted(Comparator.comparingInt(TaskReport::rank)).forEach(t -> {
      ObjectNode w = workers.addObject();
      w.put("rank", t.rank());
      w.put("executor", t.executorId());
      w.put("host", t.host());
      w.put("replica", t.replicaId());
      w.put("endpoint", t.endpoint());
      w.put("loaded", t.replicaLoaded());
      w.put("ring_connected", t.ringConnected());
      w.put("setup_s", t.setupSeconds());
      w.put("iteration_s", t.iterationSeconds());
      if (t.checksum() != null) {
        ObjectNode c = w.putObject("checksum");
        t.checksum().crc32c().forEach((k, v) -> c.put(k, String.format(Locale.ROOT, "%08x", v)));
        w.put("checksum_bytes", t.checksum().bytes());
      }
    });
    out.write(JSON.writeValueAsString(line));
    out.newLine();
    out.flush();
  }

  @Override
  public void close() throws IOException {
    out.close();
  }
}
