package ai.cory.driver;

import ai.cory.common.config.SettingsException;
import ai.cory.common.cuda.CudaException;
import ai.cory.common.io.Redaction;
import ai.cory.driver.bench.BenchCommCommand;
import ai.cory.driver.bench.BenchCommand;
import ai.cory.driver.cli.Args;
import ai.cory.driver.cli.Command;
import ai.cory.driver.cli.DoctorCommand;
import ai.cory.driver.cli.EvalCommand;
import ai.cory.driver.cli.ExperimentCommand;
import ai.cory.driver.cli.GenerateCommand;
import ai.cory.driver.cli.PlanCommand;
import ai.cory.driver.cli.ReportCommand;
import ai.cory.driver.cli.TrainCommand;
import ai.cory.driver.spark.TrainingFailedException;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code bin/cory}: dispatches to the sub-commands. */
public final class CoryCli {
  private CoryCli() {}

  /** Every sub-command, in the order {@code help} lists them. */
  static List<Command> commands() {
    return List.of(
        new TrainCommand(),
        new PlanCommand(),
        new EvalCommand(),
        new ExperimentCommand(),
        new ReportCommand(),
        new GenerateCommand(),
        new BenchCommand(),
        new BenchCommCommand(),
        new DoctorCommand());
  }

  public static void main(String[] argv) {
    System.exit(run(argv, System.out, System.err));
  }

  /** Success. */
  static final int OK = 0;
  /** A failure of ours (a bug, or a state the run cannot handle): the message says what. */
  static final int FAILED = 1;
  /** A command line that does not parse: the usage is printed. */
  static final int USAGE = 2;
  /** Settings that do not validate: the message names the key and where it was set. */
  static final int BAD_SETTINGS = 3;
  /** An input (model, data, reward file, checkpoint, path) missing, unreadable or malformed. */
  static final int BAD_INPUT = 4;
  /** The distributed run failed (an executor or task lost): resumable from its last checkpoint. */
  static final int RUN_FAILED = 5;

  /** Runs one invocation; returns the exit code ({@link #OK} ... {@link #RUN_FAILED}). */
  public static int run(String[] argv, PrintStream out, PrintStream err) {
    Map<String, Command> byName = new LinkedHashMap<>();
    for (Command c : commands()) {
      byName.put(c.name(), c);
    }
    if (argv.length == 0 || argv[0].equals("help") || argv[0].equals("--help") || argv[0].equals("-h")) {
      if (argv.length > 1 && byName.containsKey(argv[1])) {
        out.println(byName.get(argv[1]).usage());
        return 0;
      }
      printHelp(out, byName);
      return argv.length == 0 ? USAGE : OK;
    }
    Command cmd = byName.get(argv[0]);
    if (cmd == null) {
      err.println("cory: unknown command '" + argv[0] + "'");
      printHelp(err, byName);
      return USAGE;
    }
    String[] rest = Arrays.copyOfRange(argv, 1, argv.length);
    try {
      return cmd.run(rest, out);
    } catch (Args.UsageException e) {
      err.println("cory " + cmd.name() + ": " + e.getMessage());
      err.println(cmd.usage());
      return USAGE;
    } catch (Exception e) {
      err.println("cory " + cmd.name() + ": " + Redaction.redact(describe(e)));
      if (Boolean.getBoolean("cory.stacktrace")) {
        e.printStackTrace(err);
      } else {
        err.println("(run with CORY_JAVA_OPTS=-Dcory.stacktrace=true for the stack trace)");
      }
      return exitCode(e);
    }
  }

  /** The exit code that tells a scheduler what kind of failure {@code e} is. */
  static int exitCode(Throwable e) {
    if (e instanceof SettingsException || e instanceof CudaException) { // CudaException: no usable GPU or CUDA library
      return BAD_SETTINGS;
    }
    if (e instanceof TrainingFailedException) {
      return RUN_FAILED;
    }
    if (e instanceof IOException || e instanceof UncheckedIOException || e instanceof IllegalArgumentException) {
      return BAD_INPUT;
    }
    return FAILED;
  }

  /** The message chain of an exception, outermost first, without repeats. */
  static String describe(Throwable e) {
    StringBuilder sb = new StringBuilder();
    String last = null;
    for (Throwable t = e; t != null; t = t.getCause()) {
      String m = t instanceof FileSystemException fs ? plain(fs)
          : t.getMessage() != null ? TrainingFailedException.oneLine(t.getMessage())
          : t.getClass().getSimpleName();
      if (last == null || !last.contains(m)) {
        if (sb.length() > 0) {
          sb.append(": ");
        }
        sb.append(m);
      }
      last = m;
    }
    return sb.toString();
  }

  /** A file-system error as a sentence ({@code permission denied: /runs/x}), not just its path. */
  static String plain(FileSystemException e) {
    String what = e instanceof AccessDeniedException ? "permission denied"
        : e instanceof NoSuchFileException ? "no such file or directory"
        : e instanceof FileAlreadyExistsException ? "a file is in the way"
        : e instanceof NotDirectoryException ? "not a directory"
        : e instanceof DirectoryNotEmptyException ? "directory not empty"
        : e.getReason() != null ? e.getReason() : e.getClass().getSimpleName();
    String where = e.getFile() + (e.getOtherFile() != null ? " -> " + e.getOtherFile() : "");
    return what + ": " + where;
  }

  private static void printHelp(PrintStream out, Map<String, Command> byName) {
    out.println("usage: bin/cory COMMAND [options]   (bin/cory help COMMAND for its options)");
    for (Command c : byName.values()) {
      out.printf("  %-10s %s%n", c.name(), c.summary());
    }
  }
}
