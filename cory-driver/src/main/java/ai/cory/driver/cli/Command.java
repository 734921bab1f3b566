package ai.cory.driver.cli;

import java.io.PrintStream;

/** One {@code bin/cory} sub-command. */
public interface Command {

  /** Name on the command line ({@code generate}, {@code bench}, ...). */
  String name();

  /** One line for {@code bin/cory help}. */
  String summary();

  /** Full usage text printed on a usage error or {@code bin/cory help NAME}. */
  String usage();

  /**
   * Runs the command. Results go to {@code out}; diagnostics to the logger.
   *
   * @return the process exit code (0 on success)
   * @throws Args.UsageException on bad arguments (printed with {@link #usage()}, exit code 2)
   */
  int run(String[] args, PrintStream out) throws Exception;
}
