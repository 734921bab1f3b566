/**
 * The data plane of CORY's distributed runtime: collectives among the W data-parallel workers,
 * and the only package that touches Aeron.
 *
 * <ul>
 *   <li>{@link ai.cory.worker.comm.Collective}: the one collective interface (sum, all-gather,
 *       in-place average of the flat gradient buffer), bit-identical results on every worker so
 *       the replicas stay identical; {@code Collective.single()} for one worker;
 *   <li>{@link ai.cory.worker.comm.RingAllreduce}: the collectives as a ring over Aeron
 *       ({@link ai.cory.worker.comm.RingTransfer} moves the bytes);
 *   <li>{@link ai.cory.worker.comm.RingMembership}: a replica's place in its run's ring: the
 *       rendezvous before each task (over the ring itself when every member is in step, else
 *       through the caller's all-gather), ring reuse and rebuilds, and the collective the trainer
 *       uses;
 *   <li>{@link ai.cory.worker.comm.MediaDriverHolder}: one embedded media driver per JVM (or an
 *       external one), reference-counted.
 * </ul>
 *
 * <p>In local mode the W workers are threads of one JVM sharing the embedded driver over IPC; on
 * a cluster each executor's ring endpoint is UDP ({@link ai.cory.worker.comm.ChannelTuning}).
 * JVM flag needed by Aeron/Agrona on Java 17: {@code
 * --add-exports=java.base/jdk.internal.misc=ALL-UNNAMED}. {@code bin/cory bench-comm} measures
 * throughput and latency.
 */
package ai.cory.worker.comm;
