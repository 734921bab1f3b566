package ai.cory.driver.train;

import ai.cory.common.metrics.RunFiles;
import ai.cory.driver.report.RunReport;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;

/**
 * The run directory's logs kept in the store too ({@code cory.run.store} set apart from the run
 * directory): {@code config.conf}, {@code metrics.jsonl}, {@code samples.jsonl},
 * {@code replicas.jsonl} after every iteration, {@code finished.json} and the report at the end.
 * A driver that loses its local disk (a Kubernetes driver pod) and is resubmitted on another host
 * gets them back before it resumes, so the run continues the same logs; {@code bin/cory report
 * STORE_URI} reads the store like a run directory.
 */
final class StoreLogs {
  /** The files copied after every iteration. */
  static final List<String> LOGS = List.of(RunFiles.CONFIG, RunFiles.METRICS, RunFiles.SAMPLES, RunFiles.REPLICAS);

  private final Path runDir;
  private final FileSystem fs;
  private final org.apache.hadoop.fs.Path store;

  private StoreLogs(Path runDir, FileSystem fs, org.apache.hadoop.fs.Path store) {
    this.runDir = runDir;
    this.fs = fs;
    this.store = store;
  }

  /** The logs of a run whose store is {@code storeUri}; null when the store is the run directory itself. */
  static StoreLogs of(String storeUri, Path runDir, Configuration hadoop) throws IOException {
    URI uri = URI.create(storeUri.endsWith("/") ? storeUri : storeUri + "/");
    if ("file".equals(uri.getScheme())
        && Path.of(uri).toAbsolutePath().normalize().equals(runDir.toAbsolutePath().normalize())) {
      return null; // the run directory is the store: nothing to copy (a copy onto itself would empty it)
    }
    return new StoreLogs(runDir, FileSystem.get(uri, hadoop), new org.apache.hadoop.fs.Path(uri));
  }

  /**
   * Copies down each log (and {@code finished.json}) the run directory lacks but the store has:
   * a run resubmitted on a host without its run directory continues the same files.
   *
   * @return the files restored
   */
  List<String> restoreMissing(PrintStream progress) throws IOException {
    List<String> restored = new ArrayList<>();
    List<String> names = new ArrayList<>(LOGS);
    names.add(RunFiles.FINISHED);
    for (String name : names) {
      Path local = runDir.resolve(name);
      org.apache.hadoop.fs.Path remote = new org.apache.hadoop.fs.Path(store, name);
      if (!Files.exists(local) && fs.exists(remote)) {
        Files.createDirectories(runDir);
        Path tmp = runDir.resolve("." + name + ".restoring");
        try (InputStream in = fs.open(remote)) {
          Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
        }
        Files.move(tmp, local, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        restored.add(name);
      }
    }
    if (!restored.isEmpty()) {
      progress.println("restored " + restored + " from the store " + store + " into " + runDir);
    }
    return restored;
  }

  /** Copies the logs into the store (after an iteration). */
  void uploadLogs() throws IOException {
    upload(LOGS);
  }

  /** Copies {@code finished.json} and the report (page and figures) into the store (at the end). */
  void uploadFinal() throws IOException {
    List<String> names = new ArrayList<>(LOGS);
    names.add(RunFiles.FINISHED);
    try (Stream<Path> files = Files.list(runDir)) {
      files.map(p -> p.getFileName().toString()).filter(n -> n.equals(RunReport.HTML) || n.endsWith(".png"))
          .sorted().forEach(names::add);
    }
    upload(names);
  }

  private void upload(List<String> names) throws IOException {
    for (String name : names) {
      Path local = runDir.resolve(name);
      if (Files.exists(local)) {
        try (OutputStream out = fs.create(new org.apache.hadoop.fs.Path(store, name), true)) {
          Files.copy(local, out);
        }
      }
    }
  }
}
