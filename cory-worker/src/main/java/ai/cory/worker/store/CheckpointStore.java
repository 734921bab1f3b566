package ai.cory.worker.store;

import ai.cory.common.checkpoint.Checkpoint;
import ai.cory.common.checkpoint.CheckpointContents;
import ai.cory.common.checkpoint.CheckpointException.Kind;
import ai.cory.common.checkpoint.CheckpointException;
import ai.cory.common.checkpoint.CheckpointLayout;
import ai.cory.common.checkpoint.CheckpointManifest;
import ai.cory.common.checkpoint.CheckpointWriter;
import ai.cory.common.checkpoint.ChecksumAlgorithm;
import ai.cory.common.checkpoint.CommitMarker;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.UUID;
import java.util.function.Consumer;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The checkpoints of one run, on any Hadoop FileSystem ({@code hdfs://}, {@code s3a://},
 * {@code file://}), in {@code <run>/checkpoints/} ({@link CheckpointLayout}).
 *
 * <p>Protocol: rank 0 {@link #write}s into {@code _tmp-<iter>-<uuid>/} (every file checksummed,
 * the manifest last) and returns a {@link PendingCheckpoint} to the driver, which calls
 * {@link #commit} only after the stage succeeded ({@link #abort} otherwise): rename to
 * {@code iter-<iter>/}, then write the {@code _COMMITTED} marker. A rename is atomic on HDFS
 * but a copy on S3A, so readers trust only the marker: a crash at any point leaves either a
 * committed checkpoint or a directory that {@link #latestCommitted} skips. After a commit the
 * last {@code keepLast} committed checkpoints are kept and older ones, torn directories and
 * stale temporaries are deleted.
 *
 * <p>One writer per run: the driver commits sequentially. Not thread-safe.
 */
public final class CheckpointStore {
  private static final Logger LOG = LoggerFactory.getLogger(CheckpointStore.class);

  private final Configuration conf;
  private final FileSystem fs;
  private final Path checkpointsDir;
  private final int keepLast;
  private final ChecksumAlgorithm algorithm;
  private final Consumer<String> warnings;

  /**
   * A store with CRC32C checksums whose warnings go to the log.
   *
   * @see #CheckpointStore(String, Configuration, int, ChecksumAlgorithm, Consumer)
   */
  public CheckpointStore(String runDir, Configuration conf, int keepLast) throws IOException {
    this(runDir, conf, keepLast, ChecksumAlgorithm.CRC32C, LOG::warn);
  }

  /**
   * @param runDir    the run directory, a URI ({@code hdfs://nn:8020/runs/x}); a path without a
   *                  scheme is qualified by Hadoop against {@code fs.defaultFS}
   * @param conf      Hadoop configuration (file system settings, credentials)
   * @param keepLast  committed checkpoints kept after a commit, {@code >= 1}
   * @param algorithm checksum written into new manifests (readers use the manifest's)
   * @param warnings  receives one line per skipped checkpoint or failed clean-up
   */
  public CheckpointStore(String runDir, Configuration conf, int keepLast,
      ChecksumAlgorithm algorithm, Consumer<String> warnings) throws IOException {
    if (keepLast < 1) {
      throw new IllegalArgumentException("keepLast must be >= 1, got " + keepLast);
    }
    this.conf = Objects.requireNonNull(conf, "conf");
    Path run = new Path(Objects.requireNonNull(runDir, "runDir"));
    this.fs = run.getFileSystem(conf);
    this.checkpointsDir = fs.makeQualified(new Path(run, CheckpointLayout.CHECKPOINTS_DIR));
    this.keepLast = keepLast;
    this.algorithm = Objects.requireNonNull(algorithm, "algorithm");
    this.warnings = Objects.requireNonNull(warnings, "warnings");
  }

  /** The qualified {@code <run>/checkpoints} directory. */
  public String checkpointsDir() {
    return checkpointsDir.toString();
  }

  /**
   * Rank 0: writes {@code contents} into a new temporary directory. Nothing is visible to
   * readers until the driver commits the returned handle. On failure the temporary directory
   * is deleted (best effort) and the exception rethrown.
   */
  public PendingCheckpoint write(CheckpointContents contents) throws IOException {
    long iteration = contents.state().iteration();
    Path tmp = new Path(checkpointsDir, CheckpointLayout.tmpDirName(iteration, UUID.randomUUID()));
    long startNs = System.nanoTime();
    if (!fs.mkdirs(tmp)) {
      throw new IOException("cannot create the temporary checkpoint directory " + tmp);
    }
    CheckpointWriter.Result written;
    try {
      written = CheckpointWriter.write(contents, new HadoopFileSink(fs, tmp), algorithm);
    } catch (IOException | RuntimeException e) {
      deleteQuietly(tmp, "after a failed write");
      throw e;
    }
    long totalBytes = written.manifest().totalBytes();
    LOG.info("wrote checkpoint of iteration {} to {}: {} files, {} bytes in {} ms", iteration, tmp,
        written.manifest().files().size(), totalBytes, (System.nanoTime() - startNs) / 1_000_000);
    return new PendingCheckpoint(checkpointsDir.toString(), tmp.getName(), iteration, algorithm,
        written.manifestChecksum(), totalBytes);
  }

  /**
   * Driver, after the stage that wrote {@code pending} succeeded: checks that the temporary
   * directory holds the manifest the writer reported and every listed file at its listed size,
   * renames it to {@code iter-<iteration>} (replacing a directory of the same iteration left by
   * an earlier attempt), writes the {@code _COMMITTED} marker and applies the retention policy
   * (clean-up failures are warnings; the commit stands).
   *
   * @return the committed checkpoint directory
   * @throws CheckpointException when the written checkpoint is torn or differs from the handle
   */
  public String commit(PendingCheckpoint pending) throws IOException {
    Path tmp = ownTmp(pending);
    Path target = new Path(checkpointsDir, CheckpointLayout.committedDirName(pending.iteration()));
    if (!fs.exists(tmp)) {
      throw new FileNotFoundException("nothing to commit: " + tmp
          + " does not exist (aborted, already committed, or deleted by retention)");
    }
    checkWritten(tmp, pending);
    if (fs.exists(target)) {
      boolean committed = fs.exists(new Path(target, CheckpointLayout.MARKER));
      warnings.accept("replacing " + (committed ? "committed" : "torn (uncommitted)")
          + " checkpoint " + target + " left by an earlier attempt of iteration "
          + pending.iteration());
      deleteCheckpoint(target);
    }
    if (!fs.rename(tmp, target)) {
      throw new IOException("could not rename " + tmp + " to " + target);
    }
    CommitMarker marker = new CommitMarker(pending.iteration(), pending.checksumAlgorithm(),
        pending.manifestChecksum(), System.currentTimeMillis());
    try (OutputStream out = HadoopFileSink.createSynced(fs,
        new Path(target, CheckpointLayout.MARKER), false)) {
      out.write(marker.toJson());
    }
    LOG.info("committed checkpoint {}", target);
    applyRetention(pending.iteration());
    return target.toString();
  }

  /** Driver, when the stage failed: deletes the temporary directory (idempotent). */
  public void abort(PendingCheckpoint pending) throws IOException {
    Path tmp = ownTmp(pending);
    if (fs.exists(tmp) && !fs.delete(tmp, true)) {
      throw new IOException("could not delete aborted checkpoint " + tmp);
    }
  }

  /**
   * The newest committed checkpoint that verifies completely ({@link Checkpoint#open}). Each
   * newer one that is torn or corrupt is skipped with a warning naming its directory and the
   * problem, and never loaded. Errors of the file system itself (listing fails) are thrown.
   *
   * @return empty when no committed checkpoint verifies (a fresh run)
   */
  public Optional<Checkpoint> latestCommitted() throws IOException {
    List<Dir> dirs = committedNameDirs();
    dirs.sort(Comparator.comparingLong(Dir::iteration).reversed());
    for (Dir d : dirs) {
      try {
        return Optional.of(load(d.path().toString()));
      } catch (CheckpointException e) {
        warnings.accept("skipping " + e.getMessage() + "; trying an older checkpoint");
      }
    }
    return Optional.empty();
  }

  /**
   * Verifies and opens one checkpoint directory (any file system).
   *
   * @throws FileNotFoundException when the directory does not exist
   * @throws CheckpointException   when it is torn or corrupt, or its name's iteration differs
   *                               from its manifest's
   */
  public Checkpoint load(String checkpointDir) throws IOException {
    Path dir = new Path(checkpointDir);
    FileSystem dirFs = dir.getFileSystem(conf);
    if (!dirFs.getFileStatus(dir).isDirectory()) {
      throw new FileNotFoundException("not a checkpoint directory: " + dir);
    }
    HadoopFileSource source = new HadoopFileSource(dirFs, dir);
    Checkpoint checkpoint = Checkpoint.open(source);
    OptionalLong named = CheckpointLayout.parseCommittedDir(dir.getName());
    if (named.isPresent() && named.getAsLong() != checkpoint.iteration()) {
      throw new CheckpointException(Kind.CORRUPT, checkpoint.location(), "the directory name says"
          + " iteration " + named.getAsLong() + " but the manifest says " + checkpoint.iteration());
    }
    return checkpoint;
  }

  /**
   * Moves every checkpoint directory of an iteration after {@code iteration} (damaged ones: a run
   * about to continue from {@code iteration} would otherwise commit over them) aside to
   * {@code <name>.damaged-<epoch ms>}, which no listing, resume or retention touches: the
   * evidence stays for whoever investigates.
   *
   * @return the directories they were moved to
   */
  public List<String> setAsideAfter(long iteration) throws IOException {
    List<String> moved = new ArrayList<>();
    for (Dir d : committedNameDirs()) {
      if (d.iteration() > iteration) {
        Path aside = new Path(d.path().getParent(), d.path().getName() + DAMAGED_INFIX + System.currentTimeMillis());
        if (!fs.rename(d.path(), aside)) {
          throw new IOException("cannot move the damaged checkpoint " + d.path() + " aside to " + aside);
        }
        warnings.accept("moved the damaged checkpoint " + d.path() + " aside to " + aside);
        moved.add(aside.toString());
      }
    }
    return moved;
  }

  /** Iterations of the directories that carry a commit marker, ascending (nothing verified). */
  public List<Long> committedIterations() throws IOException {
    List<Long> iterations = new ArrayList<>();
    for (Dir d : committedNameDirs()) {
      if (d.marked()) {
        iterations.add(d.iteration());
      }
    }
    iterations.sort(null);
    return iterations;
  }

  /**
   * Writes {@code agent} of {@code checkpoint} as a Hugging Face model directory at {@code
   * targetDir} (any file system): the files {@code HfExport} wrote for it ({@code
   * model.safetensors} without the value head, {@code value_head.safetensors}, the tokenizer
   * files), {@code config.json} last. Existing files of those names are replaced.
   * Every byte is checked against the manifest on the way; a damaged file is deleted and
   * reported.
   *
   * @return the qualified target directory
   */
  public String exportHuggingFace(Checkpoint checkpoint, String agent, String targetDir)
      throws IOException {
    Path target = new Path(targetDir);
    FileSystem targetFs = target.getFileSystem(conf);
    target = targetFs.makeQualified(target);
    if (!targetFs.mkdirs(target)) {
      throw new IOException("cannot create export directory " + target);
    }
    for (String name : checkpoint.huggingFaceFiles(agent)) {
      Path file = new Path(target, name.substring(name.lastIndexOf('/') + 1));
      try (OutputStream out = HadoopFileSink.createSynced(targetFs, file, true)) {
        checkpoint.copyFile(name, out);
      } catch (CheckpointException e) {
        targetFs.delete(file, false);
        throw e;
      }
    }
    LOG.info("exported agent {} of {} to {}", agent, checkpoint.location(), target);
    return target.toString();
  }

  /** The manifest in {@code tmp} is the one the writer reported and all its files are there. */
  private void checkWritten(Path tmp, PendingCheckpoint pending) throws IOException {
    HadoopFileSource source = new HadoopFileSource(fs, tmp);
    String where = tmp.toString();
    if (!source.exists(CheckpointLayout.MANIFEST)) {
      throw new CheckpointException(Kind.TORN, where, CheckpointLayout.MANIFEST + " is missing");
    }
    byte[] manifestBytes;
    try (InputStream in = source.open(CheckpointLayout.MANIFEST, 0)) {
      manifestBytes = in.readAllBytes();
    }
    String checksum = pending.checksumAlgorithm().of(manifestBytes);
    if (!checksum.equals(pending.manifestChecksum())) {
      throw new CheckpointException(Kind.CORRUPT, where, CheckpointLayout.MANIFEST
          + " has checksum " + checksum + " but the writer reported " + pending.manifestChecksum());
    }
    CheckpointManifest manifest = CheckpointManifest.fromJson(manifestBytes,
        source.describe(CheckpointLayout.MANIFEST));
    for (CheckpointManifest.FileEntry f : manifest.files()) {
      if (!source.exists(f.name())) {
        throw new CheckpointException(Kind.TORN, where, "missing file " + f.name());
      }
      long size = source.size(f.name());
      if (size != f.sizeBytes()) {
        throw new CheckpointException(Kind.CORRUPT, where, f.name() + " has " + size
            + " bytes but " + CheckpointLayout.MANIFEST + " says " + f.sizeBytes());
      }
    }
  }

  /**
   * Keeps the newest {@code keepLast} committed checkpoints and the one just committed; deletes
   * older committed ones (marker first, so an interrupted deletion leaves a torn directory, never
   * a half-deleted committed one), torn directories older than it and temporaries of its
   * iteration or older (newer ones may belong to a write still in flight).
   */
  private void applyRetention(long committedIteration) {
    List<Dir> dirs;
    List<Dir> tmps;
    try {
      dirs = committedNameDirs();
      tmps = tmpDirs();
    } catch (IOException e) {
      warnings.accept("retention skipped: cannot list " + checkpointsDir + ": " + e.getMessage());
      return;
    }
    List<Dir> committed = new ArrayList<>(dirs.stream().filter(Dir::marked).toList());
    committed.sort(Comparator.comparingLong(Dir::iteration).reversed());
    Set<Long> keep = new HashSet<>();
    committed.stream().limit(keepLast).forEach(d -> keep.add(d.iteration()));
    keep.add(committedIteration);
    for (Dir d : dirs) {
      boolean expired = d.marked() && !keep.contains(d.iteration());
      boolean tornOlder = !d.marked() && d.iteration() < committedIteration;
      if (expired || tornOlder) {
        try {
          deleteCheckpoint(d.path());
          LOG.info("retention: deleted {} checkpoint {}", expired ? "old" : "torn", d.path());
        } catch (IOException e) {
          warnings.accept("retention: could not delete " + d.path() + ": " + e.getMessage());
        }
      }
    }
    for (Dir t : tmps) {
      if (t.iteration() <= committedIteration) {
        deleteQuietly(t.path(), "(stale temporary checkpoint)");
      }
    }
  }

  private void deleteCheckpoint(Path dir) throws IOException {
    Path marker = new Path(dir, CheckpointLayout.MARKER);
    if (fs.exists(marker) && !fs.delete(marker, false)) {
      throw new IOException("could not delete " + marker);
    }
    if (!fs.delete(dir, true) && fs.exists(dir)) {
      throw new IOException("could not delete " + dir);
    }
  }

  private void deleteQuietly(Path dir, String why) {
    try {
      fs.delete(dir, true);
    } catch (IOException e) {
      warnings.accept("could not delete " + dir + " " + why + ": " + e.getMessage());
    }
  }

  private Path ownTmp(PendingCheckpoint pending) {
    if (!pending.checkpointsDir().equals(checkpointsDir.toString())) {
      throw new IllegalArgumentException("pending checkpoint belongs to " + pending.checkpointsDir()
          + ", not to this store's " + checkpointsDir);
    }
    return new Path(checkpointsDir, pending.tmpDirName());
  }

  /** A checkpoint-like directory. */
  /** What a damaged checkpoint's directory name gets before the time it was set aside. */
  public static final String DAMAGED_INFIX = ".damaged-";

  private record Dir(Path path, long iteration, boolean marked) {}

  /** Directories named {@code iter-<n>}, with whether each carries a marker. */
  private List<Dir> committedNameDirs() throws IOException {
    List<Dir> dirs = new ArrayList<>();
    for (FileStatus s : children()) {
      OptionalLong iteration = CheckpointLayout.parseCommittedDir(s.getPath().getName());
      if (s.isDirectory() && iteration.isPresent()) {
        boolean marked = fs.exists(new Path(s.getPath(), CheckpointLayout.MARKER));
        dirs.add(new Dir(s.getPath(), iteration.getAsLong(), marked));
      }
    }
    return dirs;
  }

  private List<Dir> tmpDirs() throws IOException {
    List<Dir> dirs = new ArrayList<>();
    for (FileStatus s : children()) {
      OptionalLong iteration = CheckpointLayout.parseTmpDir(s.getPath().getName());
      if (s.isDirectory() && iteration.isPresent()) {
        dirs.add(new Dir(s.getPath(), iteration.getAsLong(), false));
      }
    }
    return dirs;
  }

  private FileStatus[] children() throws IOException {
    try {
      return fs.listStatus(checkpointsDir);
    } catch (FileNotFoundException e) {
      return new FileStatus[0];
    }
  }
}
