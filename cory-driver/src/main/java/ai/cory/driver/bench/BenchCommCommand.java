package ai.cory.driver.bench;

import ai.cory.driver.cli.Command;
import ai.cory.worker.comm.AllreduceBench;
import java.io.PrintStream;

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
        "                           [--threading SHARED] [--budget-s 2] [--latency-ops 200]",
        "W workers run as threads of this JVM, each with its own Aeron client on one embedded",
        "media driver, over UDP loopback and IPC. One JSON object per line: config, memcpy (the",
        "ceiling for any data movement here), allreduce (median s, algorithm and bus bandwidth",
        "MiB/s = bytes/s and 2(W-1)/W bytes/s) and latency (8 B, 1 KiB, a 4-double sum).");
  }

  @Override
  public int run(String[] args, PrintStream out) throws Exception {
    if (out != System.out) {
      throw new IllegalStateException("bench-comm prints to standard output only");
    }
    try {
      AllreduceBench.main(args);
    } catch (IllegalArgumentException e) {
      throw new ai.cory.driver.cli.Args.UsageException(e.getMessage());
    }
    return 0;
  }
}
