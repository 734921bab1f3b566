package ai.cory.common.metrics;

/**
 * The files a training run writes into its run directory, named once: the training loop writes
 * them, the report and the experiment runner read them.
 */
public final class RunFiles {
  /** One JSON object of {@link MetricNames} per iteration. */
  public static final String METRICS = "metrics.jsonl";
  /** A few decoded texts per iteration (role -> query + response). */
  public static final String SAMPLES = "samples.jsonl";
  /** Per-iteration replica fingerprints. */
  public static final String REPLICAS = "replicas.jsonl";
  /** The resolved settings (HOCON, secrets redacted). */
  public static final String CONFIG = "config.conf";
  /** Written when the run finished every iteration and its export; a re-run of the grid skips it. */
  public static final String FINISHED = "finished.json";

  private RunFiles() {}
}
