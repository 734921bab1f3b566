/**
 * The checkpoint format, free of Hadoop: what a checkpoint holds ({@link
 * ai.cory.common.checkpoint.CheckpointContents}, {@link ai.cory.common.checkpoint.CheckpointState}),
 * how it is laid out ({@link ai.cory.common.checkpoint.CheckpointLayout}), written ({@link
 * ai.cory.common.checkpoint.CheckpointWriter} into a {@link ai.cory.common.io.FileSink}),
 * verified and read back ({@link ai.cory.common.checkpoint.Checkpoint} over a {@link
 * ai.cory.common.io.FileSource}). The commit protocol on Hadoop file systems is {@code
 * ai.cory.worker.store.CheckpointStore}.
 */
package ai.cory.common.checkpoint;
