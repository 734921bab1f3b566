/**
 * The data plane of CORY's distributed runtime: collectives among the W data-parallel workers.
 *
 * <p>After every PPO minibatch each worker holds a flat gradient buffer; {@link
 * ai.cory.worker.comm.Allreduce#averageInPlace} replaces it by the element-wise mean, with the same
 * bits on every worker so the replicas stay identical. Batch-wide statistics (sums and counts for
 * advantage whitening, score moments, KL) go through {@link ai.cory.worker.comm.Allreduce#sum},
 * which returns the exact sum rounded once.
 *
 * <p>Wiring on an executor (endpoints travel through Spark's {@code BarrierTaskContext.allGather},
 * as strings):
 *
 * <pre>{@code
 * try (MediaDriverHolder driver = MediaDriverHolder.acquire(MediaDriverSettings.embedded(SHARED))) {
 *   Endpoint mine = Endpoint.freeLocalUdp(executorHost, streamId);
 *   List<Endpoint> all = allGather(mine.toString()).stream().map(Endpoint::parse).toList();
 *   RingConfig config = new RingConfig(rank, all, RingConfig.DEFAULT_CHUNK_BYTES,
 *       TimeUnit.MINUTES.toNanos(2), IdleMode.BACKOFF, ChannelTuning.defaults());
 *   try (Allreduce ring = RingAllreduce.connect(driver.aeronDirectoryName(), config)) {
 *     ring.barrier();                  // every peer connected
 *     ring.averageInPlace(gradients);  // (P) flat FLOAT buffer, in place
 *   }
 * }
 * }</pre>
 *
 * <p>In local mode the W workers are threads of one JVM sharing the embedded driver; use {@link
 * ai.cory.worker.comm.Endpoint#ipc} stream ids (fastest) or loopback UDP with {@link
 * ai.cory.worker.comm.ChannelTuning#loopback()}. JVM flag needed by Aeron/Agrona on Java 17: {@code
 * --add-exports=java.base/jdk.internal.misc=ALL-UNNAMED}. {@link
 * ai.cory.worker.comm.AllreduceBench} measures throughput and latency.
 */
package ai.cory.worker.comm;
