package ai.cory.driver;

import ai.cory.driver.bench.BenchCommCommand;
import ai.cory.driver.bench.BenchCommand;
import ai.cory.driver.cli.Args;
import ai.cory.driver.cli.Command;
import ai.cory.driver.cli.GenerateCommand;
import ai.cory.driver.cli.TrainCommand;
import ai.cory.driver.spark.TrainingFailedException;
import java.io.PrintStream;
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
        new GenerateCommand(),
        new BenchCommand(),
        new BenchCommCommand());
  }

  public static void main(String[] argv) {
    System.exit(run(argv, System.out, System.err));
  }

  /** Runs one invocation; returns the exit code (0 ok, 1 failure, 2 usage error). */
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
      return argv.length == 0 ? 2 : 0;
    }
    Command cmd = byName.get(argv[0]);
    if (cmd == null) {
      err.println("cory: unknown command '" + argv[0] + "'");
      printHelp(err, byName);
      return 2;
    }
    String[] rest = Arrays.copyOfRange(argv, 1, argv.length);
    try {
      return cmd.run(rest, out);
    } catch (Args.UsageException e) {
      err.println("cory " + cmd.name() + ": " + e.getMessage());
      err.println(cmd.usage());
      return 2;
    } catch (Exception e) {
      err.println("cory " + cmd.name() + ": " + describe(e));
      if (Boolean.getBoolean("cory.stacktrace")) {
        e.printStackTrace(err);
      } else {
        err.println("(run with CORY_JAVA_OPTS=-Dcory.stacktrace=true for the stack trace)");
      }
      return 1;
    }
  }

  /** The message chain of an exception, outermost first, without repeats. */
  static String describe(Throwable e) {
    StringBuilder sb = new StringBuilder();
    String last = null;
    for (Throwable t = e; t != null; t = t.getCause()) {
      String m = t.getMessage() != null ? TrainingFailedException.oneLine(t.getMessage())
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

  private static void printHelp(PrintStream out, Map<String, Command> byName) {
    out.println("usage: bin/cory COMMAND [options]   (bin/cory help COMMAND for its options)");
    for (Command c : byName.values()) {
      out.printf("  %-10s %s%n", c.name(), c.summary());
    }
  }
}
