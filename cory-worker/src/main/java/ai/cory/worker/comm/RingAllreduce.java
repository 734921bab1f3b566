package ai.cory.worker.comm;

import ai.cory.common.config.RuntimeSettings.Transport;
import ai.cory.worker.comm.MessageHeader.OpKind;
import io.aeron.Aeron;
import io.aeron.ChannelUriStringBuilder;
import io.aeron.ExclusivePublication;
import io.aeron.Subscription;
import java.math.BigDecimal;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.agrona.BufferUtil;
import org.agrona.CloseHelper;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.UnsafeBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.concurrency.AffinityManager;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link Collective} as a ring over Aeron: each rank publishes to its right neighbour and subscribes
 * to its left. Averages are a ring reduce-scatter + all-gather on the caller's native buffer (see
 * {@link RingTransfer}); statistics are a ring all-gather of every rank's doubles summed exactly on
 * each rank. Each rank sends and receives 2(W-1)/W of the buffer, which is bandwidth-optimal for W
 * ranks.
 *
 * <p>The calling thread drives the transfer: it calls the non-blocking {@link
 * RingTransfer#doWork()} and idles between calls with the configured strategy, until the operation
 * completes or {@link RingConfig#timeoutNs()} passes. Not thread-safe.
 *
 * <p>Peers may start in any order: offers to a right neighbour that has not subscribed yet are
 * retried until the timeout. Call {@link #barrier()} once after construction to wait for all. With
 * W = 1 nothing is created and every call returns at once.
 */
public final class RingAllreduce implements Collective, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RingAllreduce.class);

  private final RingConfig config;
  private final Aeron aeron;
  private final boolean ownsAeron;
  private final ExclusivePublication toRight;
  private final Subscription fromLeft;
  private final RingTransfer transfer;
  private final IdleStrategy idleStrategy;
  private UnsafeBuffer gatherBuffer = new UnsafeBuffer(new byte[0]);
  private long opSeq;
  private long reportedForeignFrames;
  private AllreduceException failure;
  private boolean closed;

  private RingAllreduce(final Aeron aeron, final boolean ownsAeron, final RingConfig config) {
    this.config = config;
    this.aeron = aeron;
    this.ownsAeron = ownsAeron;
    this.idleStrategy = config.idleMode().newIdleStrategy();
    if (config.worldSize() == 1) {
      toRight = null;
      fromLeft = null;
      transfer = null;
      return;
    }
    final Endpoint self = config.endpoints().get(config.rank());
    final Endpoint right = config.endpoints().get(config.rightRank());
    final int leftSessionId = config.sessionId(config.leftRank());
    final RingTransfer.ImageWatch leftWatch = new RingTransfer.ImageWatch(leftSessionId);
    ExclusivePublication publication = null;
    Subscription subscription = null;
    try {
      subscription =
          aeron.addSubscription(
              subscriptionChannel(self, config.tuning()), self.streamId(), null, leftWatch);
      publication =
          aeron.addExclusivePublication(
              publicationChannel(right, config.tuning(), config.sessionId(config.rank())),
              right.streamId());
    } catch (final RuntimeException e) {
      CloseHelper.quietCloseAll(publication, subscription);
      throw new AllreduceException(
          "rank %d: cannot create the ring channels (receive on %s, send to rank %d at %s): %s"
              .formatted(config.rank(), self, config.rightRank(), right, e.getMessage()),
          e);
    }
    this.fromLeft = subscription;
    this.toRight = publication;
    // A multiple of 8 so chunks never split a float or double; the header rides in the same
    // message.
    final int maxPayloadBytes = publication.maxMessageLength() - MessageHeader.LENGTH;
    final int chunkBytes =
        Math.min(config.chunkBytes(), maxPayloadBytes) / Double.BYTES * Double.BYTES;
    this.transfer =
        new RingTransfer(
            config.rank(),
            config.worldSize(),
            publication,
            subscription,
            leftWatch,
            chunkBytes,
            config.runToken(),
            leftSessionId,
            config.frameKey());
    LOG.debug(
        "rank {}: ring of {} over {}: receiving on {}, sending to rank {} at {}, chunk {} bytes",
        config.rank(),
        config.worldSize(),
        config.transport(),
        self,
        config.rightRank(),
        right,
        chunkBytes);
  }

  /**
   * Connects a new Aeron client to the media driver in {@code aeronDirectoryName} (see {@link
   * MediaDriverHolder#aeronDirectoryName()}) and builds the ring on it; {@link #close()} closes the
   * client. With W = 1 no client is connected.
   */
  public static RingAllreduce connect(final String aeronDirectoryName, final RingConfig config) {
    Objects.requireNonNull(aeronDirectoryName, "aeronDirectoryName");
    Objects.requireNonNull(config, "config");
    if (config.worldSize() == 1) {
      return new RingAllreduce(null, false, config);
    }
    final Aeron aeron =
        Aeron.connect(
            new Aeron.Context()
                .aeronDirectoryName(aeronDirectoryName)
                .clientName("cory-ring-rank-" + config.rank())
                .errorHandler(t -> LOG.warn("rank {}: Aeron client error", config.rank(), t)));
    try {
      return new RingAllreduce(aeron, true, config);
    } catch (final RuntimeException e) {
      CloseHelper.quietClose(aeron);
      throw e;
    }
  }

  /** Builds the ring on a client the caller owns and closes after this instance. */
  public static RingAllreduce create(final Aeron aeron, final RingConfig config) {
    Objects.requireNonNull(config, "config");
    if (config.worldSize() > 1) {
      Objects.requireNonNull(aeron, "aeron");
    }
    return new RingAllreduce(aeron, false, config);
  }

  static String subscriptionChannel(final Endpoint self, final ChannelTuning tuning) {
    if (self.transport() == Transport.IPC) {
      return "aeron:ipc";
    }
    final ChannelUriStringBuilder builder =
        new ChannelUriStringBuilder().media("udp").endpoint(self.hostAndPort());
    if (tuning.socketBufferBytes() > 0) {
      builder.socketRcvbufLength(tuning.socketBufferBytes());
    }
    if (tuning.receiverWindowBytes() > 0) {
      builder.receiverWindowLength(tuning.receiverWindowBytes());
    }
    return builder.build();
  }

  static String publicationChannel(
      final Endpoint right, final ChannelTuning tuning, final int sessionId) {
    final ChannelUriStringBuilder builder =
        new ChannelUriStringBuilder().termLength(tuning.termLengthBytes()).sessionId(sessionId);
    if (right.transport() == Transport.IPC) {
      return builder.media("ipc").mtu(tuning.ipcMtuBytes()).build();
    }
    builder.media("udp").endpoint(right.hostAndPort()).mtu(tuning.udpMtuBytes());
    if (tuning.socketBufferBytes() > 0) {
      builder.socketSndbufLength(tuning.socketBufferBytes());
    }
    return builder.build();
  }

  @Override
  public int rank() {
    return config.rank();
  }

  @Override
  public int worldSize() {
    return config.worldSize();
  }

  /** The configuration this instance was built from. */
  public RingConfig config() {
    return config;
  }

  @Override
  public void averageInPlace(final INDArray flatFloatBuffer) {
    checkUsable();
    checkDenseFloat(flatFloatBuffer);
    if (config.worldSize() == 1) {
      return; // the mean of one replica is itself
    }
    final long opNumber = ++opSeq;
    final long elementCount = flatFloatBuffer.length();
    if (elementCount == 0) {
      return;
    }
    // CUDA keeps a device copy: make the host copy current before and mark it newest after.
    final AffinityManager affinity = Nd4j.getAffinityManager();
    affinity.ensureLocation(flatFloatBuffer, AffinityManager.Location.HOST);
    final long address =
        flatFloatBuffer.data().addressPointer().address(); // includes a view's offset
    final long[] segmentStartBytes = new long[config.worldSize() + 1];
    for (int s = 0; s <= config.worldSize(); s++) {
      segmentStartBytes[s] = s * elementCount / config.worldSize() * Float.BYTES;
    }
    transfer.begin(OpKind.AVERAGE_FLOAT, opNumber, address, segmentStartBytes);
    run("averageInPlace of " + elementCount + " floats");
    affinity.tagLocation(flatFloatBuffer, AffinityManager.Location.HOST);
  }

  @Override
  public double[] sum(final double[] values) {
    checkUsable();
    Objects.requireNonNull(values, "values");
    if (config.worldSize() == 1) {
      return values.clone();
    }
    final int count = values.length;
    final int worldSize = config.worldSize();
    final double[] gathered = gather(values, "sum of " + count + " doubles", config.timeoutNs());
    final double[] sums = new double[count];
    final double[] column = new double[worldSize];
    for (int i = 0; i < count; i++) {
      for (int r = 0; r < worldSize; r++) {
        column[r] = gathered[r * count + i];
      }
      sums[i] = exactSum(column);
    }
    return sums;
  }

  @Override
  public double[] allGather(final double[] values) {
    return allGather(values, config.timeoutNs());
  }

  /** {@link #allGather(double[])} that gives up after {@code timeoutNs} instead of the configured timeout. */
  public double[] allGather(final double[] values, final long timeoutNs) {
    checkUsable();
    Objects.requireNonNull(values, "values");
    if (timeoutNs <= 0) {
      throw new IllegalArgumentException("timeoutNs must be > 0, got " + timeoutNs);
    }
    if (config.worldSize() == 1) {
      return values.clone();
    }
    return gather(values, "all-gather of " + values.length + " doubles", timeoutNs);
  }

  /** Every rank's {@code values} in rank order (the ring all-gather behind sum and allGather). */
  private double[] gather(final double[] values, final String operation, final long timeoutNs) {
    final int count = values.length;
    final int worldSize = config.worldSize();
    if (count == 0) {
      return new double[0];
    }
    final long opNumber = ++opSeq;
    final int segmentBytes = Math.multiplyExact(count, Double.BYTES);
    final int bufferBytes = Math.multiplyExact(segmentBytes, worldSize);
    if (gatherBuffer.capacity() < bufferBytes) {
      gatherBuffer = new UnsafeBuffer(BufferUtil.allocateDirectAligned(bufferBytes, Long.BYTES));
    }
    for (int i = 0; i < count; i++) {
      gatherBuffer.putDouble(config.rank() * segmentBytes + i * Double.BYTES, values[i]);
    }
    final long[] segmentStartBytes = new long[worldSize + 1];
    for (int s = 0; s <= worldSize; s++) {
      segmentStartBytes[s] = (long) s * segmentBytes;
    }
    transfer.begin(OpKind.GATHER_DOUBLE, opNumber, gatherBuffer.addressOffset(), segmentStartBytes);
    run(operation, timeoutNs);
    final double[] out = new double[count * worldSize];
    for (int i = 0; i < out.length; i++) {
      out[i] = gatherBuffer.getDouble(i * Double.BYTES);
    }
    return out;
  }

  /** Returns only once every rank has entered the barrier. */
  public void barrier() {
    // The all-gather behind sum() completes on a rank only after data from every rank
    // reached it, i.e. after every rank entered.
    final double[] ranks = sum(new double[] {1.0});
    if (ranks[0] != config.worldSize()) {
      throw fail(
          new AllreduceException(
              "rank %d: barrier counted %s ranks, expected %d"
                  .formatted(config.rank(), ranks[0], config.worldSize())));
    }
  }

  /**
   * The correctly rounded exact sum: BigDecimal holds every finite double exactly and its
   * doubleValue() rounds to nearest, so the result does not depend on the order of the terms.
   */
  static double exactSum(final double[] terms) {
    double plain = 0.0;
    boolean finite = true;
    for (final double term : terms) {
      plain += term;
      finite &= Double.isFinite(term);
    }
    if (!finite) {
      return plain; // NaN/infinity semantics of ordinary addition, in rank order
    }
    BigDecimal exact = BigDecimal.ZERO;
    for (final double term : terms) {
      exact = exact.add(new BigDecimal(term));
    }
    return exact.doubleValue();
  }

  private void run(final String operation) {
    run(operation, config.timeoutNs());
  }

  private void run(final String operation, final long timeoutNs) {
    final long startNs = System.nanoTime();
    final long deadlineNs = startNs + timeoutNs;
    idleStrategy.reset();
    try {
      while (!transfer.isDone()) {
        final int workCount = transfer.doWork();
        if (System.nanoTime() - deadlineNs >= 0 && !transfer.isDone()) {
          throw fail(timeout(operation, System.nanoTime() - startNs, timeoutNs));
        }
        if (Thread.currentThread().isInterrupted()) {
          // Spark kills tasks by interrupting them; parking returns at once when interrupted,
          // so without this check a killed task would spin until the timeout.
          throw fail(
              new AllreduceException(
                  "rank %d: %s interrupted; %s"
                      .formatted(config.rank(), operation, transfer.progress())));
        }
        if (workCount == 0) {
          final String lost = transfer.lostNeighbour();
          if (lost != null) {
            throw fail(
                new AllreduceException(
                    "rank %d: %s failed: %s; %s"
                        .formatted(config.rank(), operation, lost, transfer.progress())));
          }
        }
        idleStrategy.idle(workCount);
      }
      reportForeignFrames();
    } catch (final AllreduceException e) {
      throw fail(e);
    } catch (final RuntimeException e) {
      throw fail(
          new AllreduceException("rank " + config.rank() + ": " + operation + " failed: " + e, e));
    }
  }

  /**
   * Frames this rank dropped because they came from another Aeron session than its left
   * neighbour's or carried another run token (strangers' traffic on its port), since it joined.
   */
  public long foreignFrames() {
    return transfer == null ? 0 : transfer.foreignFrames();
  }

  private void reportForeignFrames() {
    final long foreign = transfer.foreignFrames();
    if (foreign > reportedForeignFrames) {
      LOG.warn(
          "rank {}: dropped {} frame(s) on {} from another session or run (total {}): check who "
              + "sends to this port",
          config.rank(),
          foreign - reportedForeignFrames,
          config.endpoints().get(config.rank()),
          foreign);
      reportedForeignFrames = foreign;
    }
  }

  private AllreduceTimeoutException timeout(
      final String operation, final long elapsedNs, final long timeoutNs) {
    final int left = config.leftRank();
    final int right = config.rightRank();
    final Endpoint self = config.endpoints().get(config.rank());
    final String suspect;
    if (!transfer.rightConnected()) {
      suspect =
          "right neighbour rank %d at %s is not connected (it never came up or went away)"
              .formatted(right, config.endpoints().get(right));
    } else if (!transfer.leftConnected() && !transfer.receiveComplete()) {
      suspect =
          "left neighbour rank %d (endpoint %s) has not connected to this rank's subscription at %s"
                  .formatted(left, config.endpoints().get(left), self)
              + " (it never came up or went away)";
    } else {
      suspect =
          "neighbours are connected but too slow: left rank %d at %s, right rank %d at %s"
              .formatted(left, config.endpoints().get(left), right, config.endpoints().get(right));
    }
    return new AllreduceTimeoutException(
        "rank %d of %d: %s timed out after %d ms (limit %d ms): %s; %s"
            .formatted(
                config.rank(),
                config.worldSize(),
                operation,
                TimeUnit.NANOSECONDS.toMillis(elapsedNs),
                TimeUnit.NANOSECONDS.toMillis(timeoutNs),
                suspect,
                transfer.progress()));
  }

  private AllreduceException fail(final AllreduceException e) {
    if (failure == null) {
      failure = e;
    }
    return e;
  }

  private void checkUsable() {
    if (closed) {
      throw new AllreduceException("rank " + config.rank() + ": this allreduce is closed");
    }
    if (failure != null) {
      throw new AllreduceException(
          "rank %d: this allreduce is broken by an earlier failure and must be rebuilt: %s"
              .formatted(config.rank(), failure.getMessage()),
          failure);
    }
  }

  private static void checkDenseFloat(final INDArray array) {
    Objects.requireNonNull(array, "flatFloatBuffer");
    if (array.dataType() != DataType.FLOAT) {
      throw new IllegalArgumentException(
          "flatFloatBuffer must be FLOAT, got %s with shape %s"
              .formatted(array.dataType(), array.shapeInfoToString()));
    }
    if (!array.isEmpty() && !Shape.hasDefaultStridesForShape(array)) {
      throw new IllegalArgumentException(
          "flatFloatBuffer must be dense (default strides for its order), got %s; pass the flat"
                  .formatted(array.shapeInfoToString())
              + " buffer or a contiguous view of it");
    }
  }

  /** Releases publications, subscriptions and any client this instance owns. Idempotent. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    CloseHelper.quietCloseAll(toRight, fromLeft);
    if (ownsAeron) {
      CloseHelper.quietClose(aeron);
    }
  }
}
