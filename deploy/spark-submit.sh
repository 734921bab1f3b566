#!/usr/bin/env bash
# Submits a CORY training run to a Spark cluster (standalone, YARN or Kubernetes) with the
# application jar built by `mvn -B package -DskipTests` (cory-driver/target/cory-driver-*-spark.jar).
#
#   deploy/spark-submit.sh --master spark://HOST:7077 --workers 4 --cores 8 -- \
#       --config conf/imdb-gpt2.conf --run-dir /shared/runs/imdb-gpt2 [path=value ...]
#
# Options before `--` (all optional except --master):
#   --master URL        Spark master (spark://, yarn, k8s://https://...)
#   --workers W         data-parallel workers = executors, one barrier task each (default 2);
#                       passed to the run as `workers=W`
#   --cores C           cores per executor = per task (default 1): spark.executor.cores,
#                       spark.task.cpus and OMP_NUM_THREADS on the executors
#   --memory M          executor heap (default 4g); ND4J's tensors are off-heap, see --overhead
#   --overhead M        spark.executor.memoryOverhead for YARN/Kubernetes (default 8g)
#   --gpus              one GPU per executor and task (spark.{executor,task}.resource.gpu.amount=1,
#                       discovery by deploy/gpu-discovery.sh); needs the CUDA build (mvn -Dnd4j.backend=cuda)
#   --conf K=V          any further Spark property (repeatable)
# Everything after `--` goes to the application (bin/cory train's arguments).
#
# Environment: SPARK_SUBMIT (default: spark-submit on PATH; may be a whole command such as
# "java -cp '...' org.apache.spark.deploy.SparkSubmit"), CORY_JAR (default: the built jar).
# Java 17: the driver JVM needs the Aeron/Vector API flags below; spark-submit adds Spark's own
# --add-opens list. Checkpoints and exported agents go to run.store=URI (hdfs://, s3a://) or,
# unset, to the run directory, which must then be a mount shared by the driver and executors.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

master="" workers=2 cores=1 memory=4g overhead=8g gpus=false
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --master) master="$2"; shift 2 ;;
    --workers) workers="$2"; shift 2 ;;
    --cores) cores="$2"; shift 2 ;;
    --memory) memory="$2"; shift 2 ;;
    --overhead) overhead="$2"; shift 2 ;;
    --gpus) gpus=true; shift ;;
    --conf) extra+=(--conf "$2"); shift 2 ;;
    --) shift; break ;;
    *) echo "spark-submit.sh: unknown option '$1' (application arguments go after --)" >&2; exit 2 ;;
  esac
done
if [[ -z "$master" ]]; then
  echo "spark-submit.sh: --master is required" >&2
  exit 2
fi
jar="${CORY_JAR:-$(ls "$here"/cory-driver/target/cory-driver-*-spark.jar 2>/dev/null | head -n1 || true)}"
if [[ -z "$jar" || ! -f "$jar" ]]; then
  echo "spark-submit.sh: no application jar; run 'mvn -B -q package -DskipTests' or set CORY_JAR" >&2
  exit 2
fi

# Aeron/Agrona reach into jdk.internal.misc; the engine's kernels use the incubating Vector API.
jvm_flags="--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED --add-modules=jdk.incubator.vector"
conf=(
  --conf "spark.driver.extraJavaOptions=$jvm_flags"
  --conf "spark.executor.extraJavaOptions=$jvm_flags"
  # one barrier task per executor: the executor's cores all belong to its task
  --conf "spark.executor.instances=$workers"
  --conf "spark.cores.max=$((workers * cores))"
  --conf "spark.executor.cores=$cores"
  --conf "spark.task.cpus=$cores"
  --conf "spark.executor.memory=$memory"
  --conf "spark.executor.memoryOverhead=$overhead"
  --conf "spark.executorEnv.OMP_NUM_THREADS=$cores"
  --conf "spark.executorEnv.OMP_WAIT_POLICY=PASSIVE"
  # barrier stages need a fixed set of executors
  --conf "spark.dynamicAllocation.enabled=false"
)
if [[ "$gpus" == true ]]; then
  conf+=(
    --conf "spark.executor.resource.gpu.amount=1"
    --conf "spark.task.resource.gpu.amount=1"
    --conf "spark.executor.resource.gpu.discoveryScript=$here/deploy/gpu-discovery.sh"
    --files "$here/deploy/gpu-discovery.sh"
  )
fi

submit="${SPARK_SUBMIT:-spark-submit}"
# shellcheck disable=SC2086 # SPARK_SUBMIT may be a whole command line
exec $submit --master "$master" --deploy-mode client --class ai.cory.driver.CoryDriver \
  "${conf[@]}" ${extra[@]+"${extra[@]}"} "$jar" "workers=$workers" "$@"
