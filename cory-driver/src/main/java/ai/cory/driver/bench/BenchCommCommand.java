package ai.cory.driver.bench;

import ai.cory.driver.cli.Args;
import ai.cory.driver.cli.Command;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** {@code bin/cory bench-comm}: Aeron allreduce throughput and latency on this host. */
public final class BenchCommCommand implements Command {

  @Override
  public String name() {
    return "bench-comm";
  }

  @Override
  public String summary() {
    return "time the Aeron ring allreduce (MB/s, latency) against a plain memory copy";
  }

  @Override
  public String usage() {
    return String.join("\n",
        "usage: bin/cory bench-comm [--transports udp,ipc] [--workers 2,4] [--sizes-mib 1,16,128]",
        "                           [--chunk-kib 64] [--term-mib 16] [--udp-mtu 65504]",
        "                           [--socket-kib 4096] [--window-kib 4096] [--idle BACKOFF]",
        "                           [--authenticate false]",
        "                           [--threading SHARED] [--budget-s 2] [--latency-ops 200]",
        "                           [--split-iterations 5] [--split-workers 2] [--split-config FILE]",
        "                           [--split-set path=value]...",
        "W workers run as threads of this JVM, each with its own Aeron client on one embedded",
        "media driver, over UDP loopback and IPC. One JSON object per line: config, memcpy (the",
        "ceiling for any data movement here), allreduce (median s, algorithm and bus bandwidth",
        "MiB/s = bytes/s and 2(W-1)/W bytes/s) and latency (8 B, 1 KiB, a 4-double sum).",
        "Then the time split of whole training iterations (rollout, reward, train, sync,",
        "checkpoint, s) on --split-workers workers in local[W]: the demo preset, or --split-config",
        "with --split-set overrides; one line per iteration and the medians after the first.",
        "--split-iterations 0 skips it.");
  }

  @Override
  public int run(String[] args, PrintStream out) throws Exception {
    if (out != System.out) {
      throw new IllegalStateException("bench-comm prints to standard output only");
    }
    List<String> comm = new ArrayList<>();
    int splitIterations = 5;
    int splitWorkers = 2;
    Path splitConfig = null;
    List<String> splitOverrides = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--split-iterations" -> splitIterations = intValue(args, ++i);
        case "--split-workers" -> splitWorkers = intValue(args, ++i);
        case "--split-config" -> splitConfig = Path.of(value(args, ++i));
        case "--split-set" -> splitOverrides.add(value(args, ++i));
        default -> comm.add(args[i]);
      }
    }
    try {
      AllreduceBench.main(comm.toArray(String[]::new));
    } catch (IllegalArgumentException e) {
      throw new Args.UsageException(e.getMessage());
    }
    if (splitIterations > 0) {
      IterationSplitBench.run(splitConfig, splitWorkers, splitIterations, splitOverrides, out);
    }
    return 0;
  }

  private static String value(String[] args, int i) {
    if (i >= args.length) {
      throw new Args.UsageException(args[i - 1] + " needs a value");
    }
    return args[i];
  }

  private static int intValue(String[] args, int i) {
    String v = value(args, i);
    try {
      return Integer.parseInt(v);
    } catch (NumberFormatException e) {
      throw new Args.UsageException(args[i - 1] + " needs an integer, got '" + v + "'");
    }
  }
}
