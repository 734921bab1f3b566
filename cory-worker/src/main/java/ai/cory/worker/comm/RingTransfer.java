package ai.cory.worker.comm;

import ai.cory.worker.comm.MessageHeader.OpKind;
import io.aeron.ExclusivePublication;
import io.aeron.Image;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.aeron.UnavailableImageHandler;
import io.aeron.logbuffer.ControlledFragmentHandler;
import io.aeron.logbuffer.FrameDescriptor;
import io.aeron.logbuffer.Header;
import org.agrona.BufferUtil;
import org.agrona.DirectBuffer;
import org.agrona.UnsafeApi;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.UnsafeBuffer;

/**
 * One ring collective in flight over a buffer in native memory, advanced by {@link #doWork()},
 * which never blocks: it drains what the left neighbour sent and offers what the right neighbour
 * may receive, then returns the amount of work done.
 *
 * <p>The buffer is cut into W segments. Step j of 2(W-1) (or W-1 for a pure all-gather) sends
 * segment {@link #sendSegment(int)} to the right and receives segment {@link #recvSegment(int)}
 * from the left; {@code recvSegment(j) == sendSegment(j + 1)}, so what arrives in step j is
 * forwarded in step j+1, chunk by chunk as soon as it has arrived (pipelined). In the
 * reduce-scatter steps the receiver adds the incoming partial sum to its own values; in the last of
 * them it also divides by W, so the owner of each segment holds the final mean, and the all-gather
 * steps copy the owner's bytes to everyone: every rank ends with identical bits. Segment s is
 * summed in ring order starting at rank s: ((v_s + v_{s+1}) + ...) + v_{s-1}.
 *
 * <p>Aeron delivers one publication's messages in order, so the receive cursor only moves forward;
 * each message's header is checked against it. Messages larger than the MTU arrive as several
 * fragments and are applied fragment by fragment straight from the term buffer, with no reassembly
 * copy. Background: Patarasuk and Yuan, "Bandwidth optimal all-reduce algorithms for clusters of
 * workstations", JPDC 2009.
 */
final class RingTransfer implements Agent, ControlledFragmentHandler {
  /** Fragments drained per {@link #doWork()}; bounds the time before the send side runs again. */
  private static final int FRAGMENT_LIMIT = 64;

  /** Messages offered per {@link #doWork()}; bounds the time before the receive side runs again. */
  private static final int MAX_OFFERS_PER_WORK = 4;

  private final int rank;
  private final int worldSize;
  private final int leftRank;
  private final int rightRank;
  private final ExclusivePublication toRight;
  private final Subscription fromLeft;
  private final ImageWatch leftWatch;
  private final int chunkBytes;
  private final long runToken;
  private final int leftSessionId;
  private final FrameMac sendMac; // null: messages carry no tag
  private final FrameMac receiveMac;
  private final UnsafeBuffer headerBuffer =
      new UnsafeBuffer(BufferUtil.allocateDirectAligned(MessageHeader.LENGTH, Long.BYTES));
  private final UnsafeBuffer payloadBuffer = new UnsafeBuffer(new byte[0]);

  private OpKind kind = OpKind.AVERAGE_FLOAT;
  private long opSeq;
  private long baseAddress;
  private long[] segmentStartBytes = new long[0];
  private long totalBytes;
  private int reduceSteps;
  private int totalSteps;
  private float divisor;

  private int sendStep;
  private long sendPosBytes;
  private int recvStep;
  private long recvPosBytes;
  private boolean inMessage;
  private boolean skippingMessage;
  private long messageRemainingBytes;
  private long foreignFrames;

  private boolean rightWasConnected;
  private AllreduceException receiveFailure;
  private long backPressuredCount;
  private long notConnectedCount;
  private long adminActionCount;

  /**
   * @param chunkBytes largest payload per message; a multiple of 8 so that chunk boundaries never
   *     split a float or a double
   * @param runToken the run's secret, written into and expected in every message header
   * @param leftSessionId the Aeron session id of the left neighbour's publication; frames of any
   *     other session on the subscription are dropped and counted
   * @param frameKey the run's key to sign and verify every message ({@link FrameMac}), or null
   */
  RingTransfer(
      final int rank,
      final int worldSize,
      final ExclusivePublication toRight,
      final Subscription fromLeft,
      final ImageWatch leftWatch,
      final int chunkBytes,
      final long runToken,
      final int leftSessionId,
      final byte[] frameKey) {
    if (chunkBytes <= 0 || chunkBytes % Double.BYTES != 0) {
      throw new IllegalArgumentException(
          "chunkBytes must be a positive multiple of 8, got " + chunkBytes);
    }
    this.rank = rank;
    this.worldSize = worldSize;
    this.leftRank = (rank - 1 + worldSize) % worldSize;
    this.rightRank = (rank + 1) % worldSize;
    this.toRight = toRight;
    this.fromLeft = fromLeft;
    this.leftWatch = leftWatch;
    this.chunkBytes = chunkBytes;
    this.runToken = runToken;
    this.leftSessionId = leftSessionId;
    this.sendMac = frameKey == null ? null : new FrameMac(frameKey, chunkBytes);
    this.receiveMac = frameKey == null ? null : new FrameMac(frameKey, chunkBytes);
  }

  /**
   * Frames dropped since construction because they came from another Aeron session than the left
   * neighbour's, or carried another run token: strangers' traffic, never applied.
   */
  long foreignFrames() {
    return foreignFrames;
  }

  /**
   * Starts an operation. The buffer must stay valid and untouched by others until {@link
   * #isDone()}.
   *
   * @param baseAddress native address of the operation's buffer
   * @param segmentStartBytes W+1 ascending offsets; segment s is [start[s], start[s+1]), each a
   *     multiple of the element size
   */
  void begin(
      final OpKind kind, final long opSeq, final long baseAddress, final long[] segmentStartBytes) {
    if (segmentStartBytes.length != worldSize + 1) {
      throw new IllegalArgumentException(
          "need " + (worldSize + 1) + " segment offsets, got " + segmentStartBytes.length);
    }
    this.kind = kind;
    this.opSeq = opSeq;
    this.baseAddress = baseAddress;
    this.segmentStartBytes = segmentStartBytes;
    this.totalBytes = segmentStartBytes[worldSize];
    this.reduceSteps = kind.reduces() ? worldSize - 1 : 0;
    this.totalSteps = reduceSteps + worldSize - 1;
    this.divisor = worldSize;
    sendStep = 0;
    sendPosBytes = 0;
    recvStep = 0;
    recvPosBytes = 0;
    inMessage = false;
    messageRemainingBytes = 0;
    backPressuredCount = 0;
    notConnectedCount = 0;
    adminActionCount = 0;
    skipEmptyReceiveSteps();
  }

  boolean isDone() {
    return sendStep == totalSteps && recvStep == totalSteps;
  }

  /** Never blocks; throws {@link AllreduceException} on a protocol error or a dead publication. */
  @Override
  public int doWork() {
    // Offering first puts this rank's data on the wire before a protocol error found while
    // draining can abort the operation, so a mismatch is reported by both neighbours.
    int workCount = offerChunks();
    workCount += fromLeft.controlledPoll(this, FRAGMENT_LIMIT);
    if (receiveFailure != null) {
      throw receiveFailure;
    }
    return workCount;
  }

  @Override
  public String roleName() {
    return "ring-allreduce-rank-" + rank;
  }

  private int offerChunks() {
    int offered = 0;
    int attempts = 0;
    while (sendStep < totalSteps && attempts < MAX_OFFERS_PER_WORK) {
      final int segment = sendSegment(sendStep);
      final long segmentBytes = segmentStartBytes[segment + 1] - segmentStartBytes[segment];
      if (sendPosBytes == segmentBytes) {
        sendStep++;
        sendPosBytes = 0;
        continue;
      }
      final int payloadBytes = (int) Math.min(chunkBytes, segmentBytes - sendPosBytes);
      if (readyToSendBytes(sendStep, segmentBytes) < sendPosBytes + payloadBytes) {
        break; // the left neighbour's part of this chunk has not arrived yet
      }
      attempts++;
      final long offsetBytes = segmentStartBytes[segment] + sendPosBytes;
      MessageHeader.write(
          headerBuffer, opSeq, totalBytes, offsetBytes, kind, sendStep, rank, payloadBytes, runToken);
      payloadBuffer.wrap(baseAddress + offsetBytes, payloadBytes);
      if (sendMac != null) {
        sendMac.start(headerBuffer, 0);
        sendMac.update(payloadBuffer, 0, payloadBytes);
        sendMac.sign(headerBuffer, 0);
      }
      final long result =
          toRight.offer(headerBuffer, 0, MessageHeader.LENGTH, payloadBuffer, 0, payloadBytes);
      if (result > 0) {
        rightWasConnected = true;
        sendPosBytes += payloadBytes;
        offered++;
      } else if (result == Publication.BACK_PRESSURED) {
        backPressuredCount++; // the right neighbour has not drained its window: try later
        break;
      } else if (result == Publication.NOT_CONNECTED) {
        notConnectedCount++; // the right neighbour has not subscribed yet (or went away)
        break;
      } else if (result == Publication.ADMIN_ACTION) {
        adminActionCount++; // term rotation in progress: retry at once
      } else if (result == Publication.CLOSED) {
        throw new AllreduceException(
            "rank %d: publication to right neighbour rank %d is closed (%s, stream %d)"
                .formatted(rank, rightRank, toRight.channel(), toRight.streamId()));
      } else if (result == Publication.MAX_POSITION_EXCEEDED) {
        throw new AllreduceException(
            "rank %d: publication to right neighbour rank %d reached its maximum position (%s);"
                    .formatted(rank, rightRank, toRight.channel())
                + " rebuild the allreduce");
      } else {
        throw new AllreduceException(
            "rank %d: unexpected offer() result %d on the publication to rank %d"
                .formatted(rank, result, rightRank));
      }
    }
    return offered;
  }

  /**
   * Bytes of the segment sent in {@code step} that hold final data for that step: all of it in step
   * 0 (the rank's own data), else what step-1 has received so far (same segment).
   */
  private long readyToSendBytes(final int step, final long segmentBytes) {
    if (step == 0 || recvStep > step - 1) {
      return segmentBytes;
    }
    return recvStep == step - 1 ? recvPosBytes : 0;
  }

  @Override
  public Action onFragment(
      final DirectBuffer buffer, final int offset, final int length, final Header header) {
    if (header.sessionId() != leftSessionId) {
      foreignFrames++; // not the left neighbour's publication: consumed and dropped
      return Action.CONTINUE;
    }
    if (skippingMessage || isForeignMessageStart(buffer, offset, length, header.flags())) {
      foreignFrames++;
      skippingMessage = (header.flags() & FrameDescriptor.END_FRAG_FLAG) == 0;
      return Action.CONTINUE;
    }
    if (recvStep == totalSteps || receiveFailure != null) {
      return Action.ABORT; // the next operation's data: leave it in the image until then
    }
    try {
      receiveFragment(buffer, offset, length, header.flags());
      return Action.CONTINUE;
    } catch (final AllreduceException e) {
      // Aeron hands exceptions thrown here to the client's error handler and moves on, so the
      // failure is kept and rethrown by doWork().
      receiveFailure = e;
      return Action.ABORT;
    }
  }

  /** The first fragment of a message with another run's token (in the left neighbour's session). */
  private boolean isForeignMessageStart(
      final DirectBuffer buffer, final int offset, final int length, final byte flags) {
    return (flags & FrameDescriptor.BEGIN_FRAG_FLAG) != 0
        && length >= MessageHeader.LENGTH
        && MessageHeader.runToken(buffer, offset) != runToken;
  }

  private void receiveFragment(
      final DirectBuffer buffer, final int offset, final int length, final byte flags) {
    int payloadOffset = offset;
    int payloadLength = length;
    if ((flags & FrameDescriptor.BEGIN_FRAG_FLAG) != 0) {
      if (inMessage) {
        throw protocolError("a new message began before the previous one ended", buffer, offset);
      }
      checkMessageHeader(buffer, offset, length);
      inMessage = true;
      messageRemainingBytes = MessageHeader.payloadBytes(buffer, offset);
      if (receiveMac != null) {
        receiveMac.expect(buffer, offset);
        receiveMac.start(buffer, offset);
      }
      payloadOffset += MessageHeader.LENGTH;
      payloadLength -= MessageHeader.LENGTH;
    } else if (!inMessage) {
      throw protocolError("a continuation fragment arrived without a message start", null, 0);
    }
    if (receiveMac != null) {
      receiveMac.update(buffer, payloadOffset, payloadLength);
    }
    applyPayload(buffer, payloadOffset, payloadLength);
    if ((flags & FrameDescriptor.END_FRAG_FLAG) != 0) {
      if (messageRemainingBytes != 0) {
        throw protocolError("message ended " + messageRemainingBytes + " bytes short", null, 0);
      }
      if (receiveMac != null && !receiveMac.verify()) {
        throw protocolError("a message failed authentication (cory.runtime.authenticate-frames): forged, "
            + "altered, or sent with another key; the collective's result is discarded", null, 0);
      }
      inMessage = false;
      final int segment = recvSegment(recvStep);
      if (recvPosBytes == segmentStartBytes[segment + 1] - segmentStartBytes[segment]) {
        recvStep++;
        recvPosBytes = 0;
        skipEmptyReceiveSteps();
      }
    }
  }

  private void checkMessageHeader(final DirectBuffer buffer, final int offset, final int length) {
    if (length < MessageHeader.LENGTH) {
      throw protocolError(
          "first fragment of " + length + " bytes is shorter than the header", null, 0);
    }
    final int segment = recvSegment(recvStep);
    final long segmentRemainingBytes =
        segmentStartBytes[segment + 1] - segmentStartBytes[segment] - recvPosBytes;
    final int payloadBytes = MessageHeader.payloadBytes(buffer, offset);
    if (MessageHeader.opSeq(buffer, offset) != opSeq
        || MessageHeader.kindCode(buffer, offset) != kind.code()
        || MessageHeader.step(buffer, offset) != recvStep
        || MessageHeader.senderRank(buffer, offset) != leftRank
        || MessageHeader.totalBytes(buffer, offset) != totalBytes
        || MessageHeader.offsetBytes(buffer, offset) != segmentStartBytes[segment] + recvPosBytes
        || payloadBytes <= 0
        || payloadBytes > segmentRemainingBytes
        || payloadBytes % kind.elementBytes() != 0) {
      throw protocolError(
          "unexpected message (ranks out of step: different call order, buffer sizes or "
              + "a stale peer?)",
          buffer,
          offset);
    }
  }

  private void applyPayload(final DirectBuffer buffer, final int offset, final int length) {
    if (length > messageRemainingBytes || length % kind.elementBytes() != 0) {
      throw protocolError(
          "fragment of %d bytes overruns the message (%d bytes left) or splits an element"
              .formatted(length, messageRemainingBytes),
          null,
          0);
    }
    final long dstAddress = baseAddress + segmentStartBytes[recvSegment(recvStep)] + recvPosBytes;
    final Object srcArray = buffer.byteArray();
    final long srcAddress = buffer.addressOffset() + offset;
    if (recvStep >= reduceSteps) {
      UnsafeApi.copyMemory(srcArray, srcAddress, null, dstAddress, length);
    } else if (recvStep == reduceSteps - 1) {
      addFloatsThenDivide(srcArray, srcAddress, dstAddress, length / Float.BYTES, divisor);
    } else {
      addFloats(srcArray, srcAddress, dstAddress, length / Float.BYTES);
    }
    recvPosBytes += length;
    messageRemainingBytes -= length;
  }

  /** dst[i] = dst[i] + src[i] in float32 (Java float arithmetic is IEEE-754 binary32). */
  private static void addFloats(
      final Object srcArray, final long srcAddress, final long dstAddress, final int count) {
    for (int i = 0; i < count; i++) {
      final long byteOffset = (long) i * Float.BYTES;
      final float sum =
          UnsafeApi.getFloat(dstAddress + byteOffset)
              + UnsafeApi.getFloat(srcArray, srcAddress + byteOffset);
      UnsafeApi.putFloat(dstAddress + byteOffset, sum);
    }
  }

  /** dst[i] = (dst[i] + src[i]) / divisor: the owner's final mean, a correctly rounded division. */
  private static void addFloatsThenDivide(
      final Object srcArray,
      final long srcAddress,
      final long dstAddress,
      final int count,
      final float divisor) {
    for (int i = 0; i < count; i++) {
      final long byteOffset = (long) i * Float.BYTES;
      final float sum =
          UnsafeApi.getFloat(dstAddress + byteOffset)
              + UnsafeApi.getFloat(srcArray, srcAddress + byteOffset);
      UnsafeApi.putFloat(dstAddress + byteOffset, sum / divisor);
    }
  }

  /** Zero-length segments (buffers shorter than W) carry no messages on either side. */
  private void skipEmptyReceiveSteps() {
    while (recvStep < totalSteps) {
      final int segment = recvSegment(recvStep);
      if (segmentStartBytes[segment + 1] != segmentStartBytes[segment]) {
        return;
      }
      recvStep++;
    }
  }

  /** Segment this rank sends in {@code step}: its own first, then what it received before. */
  int sendSegment(final int step) {
    if (step < reduceSteps) {
      return Math.floorMod(rank - step, worldSize);
    }
    // After a reduce-scatter this rank owns segment rank+1; in a pure all-gather, segment rank.
    final int ownedShift = reduceSteps > 0 ? 1 : 0;
    return Math.floorMod(rank + ownedShift - (step - reduceSteps), worldSize);
  }

  /** Segment this rank receives in {@code step}: the one its left neighbour sends. */
  int recvSegment(final int step) {
    return Math.floorMod(sendSegment(step) - 1, worldSize);
  }

  private AllreduceException protocolError(
      final String what, final DirectBuffer buffer, final int offset) {
    final String got = buffer == null ? "" : "; got " + MessageHeader.describe(buffer, offset);
    final long expectedOffsetBytes =
        recvStep < totalSteps
            ? segmentStartBytes[recvSegment(recvStep)] + recvPosBytes
            : totalBytes;
    return new AllreduceException(
        "rank %d: protocol error from left neighbour rank %d: %s; expected op #%d kind %d step %d"
                .formatted(rank, leftRank, what, opSeq, kind.code(), recvStep)
            + " at byte %d of %d%s".formatted(expectedOffsetBytes, totalBytes, got));
  }

  /** Where the operation stands, for timeout messages. */
  String progress() {
    final String phase = sendStep < reduceSteps ? "reduce-scatter" : "all-gather";
    return ("op #%d %s: send step %d/%d (%d bytes of its segment sent; offers back-pressured %d,"
            + " not connected %d, admin action %d), receive step %d/%d (%d bytes received)")
        .formatted(
            opSeq,
            phase,
            Math.min(sendStep + 1, totalSteps),
            totalSteps,
            sendPosBytes,
            backPressuredCount,
            notConnectedCount,
            adminActionCount,
            Math.min(recvStep + 1, totalSteps),
            totalSteps,
            recvPosBytes);
  }

  /**
   * Describes a neighbour that was connected and has gone (closed its ring after a failure, or its
   * process died), or returns null. Lets a rank fail at once instead of at its timeout.
   */
  String lostNeighbour() {
    if (rightWasConnected && sendStep < totalSteps && !toRight.isConnected()) {
      return "right neighbour rank %d disconnected".formatted(rightRank);
    }
    if (leftWatch.lostImages() > 0 && recvStep < totalSteps) {
      return "left neighbour rank %d closed its stream or went away".formatted(leftRank);
    }
    return null;
  }

  boolean rightConnected() {
    return toRight.isConnected();
  }

  boolean leftConnected() {
    return fromLeft.imageCount() > 0;
  }

  boolean receiveComplete() {
    return recvStep == totalSteps;
  }

  /**
   * Counts images of the left neighbour's publication that went away (end of stream, or no data for
   * the driver's image liveness timeout). Aeron calls it on the client conductor thread.
   */
  static final class ImageWatch implements UnavailableImageHandler {
    private final int sessionId;
    private volatile int lostImages;

    /** @param sessionId the left neighbour's session: images of other sessions are not watched */
    ImageWatch(final int sessionId) {
      this.sessionId = sessionId;
    }

    @Override
    public void onUnavailableImage(final Image image) {
      if (image.sessionId() == sessionId) {
        lostImages++; // single writer: the client conductor thread
      }
    }

    int lostImages() {
      return lostImages;
    }
  }
}
