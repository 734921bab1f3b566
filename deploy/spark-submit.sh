#!/usr/bin/env bash
# Submits a CORY training run to a Spark cluster (standalone, YARN or Kubernetes) with the
# application jar built by `mvn -B package -DskipTests` (cory-driver/target/cory-driver-*-spark.jar).
#
#   deploy/spark-submit.sh --master yarn --deploy-mode cluster --workers 4 --cores 8 -- \
#       --config conf/imdb-gpt2.conf --run-dir /shared/runs/imdb-gpt2 run.store=hdfs:///cory/imdb [path=value ...]
#
# Options before `--` (all optional except --master):
#   --master URL        Spark master (spark://, yarn, k8s://https://...)
#   --deploy-mode M     client (default: the driver runs here) or cluster (in a YARN container or a
#                       Kubernetes pod; give --run-dir and every path as absolute shared paths or URIs)
#   --workers W         data-parallel workers = executors, one barrier task each (default 2);
#                       passed to the run as `workers=W`
#   --cores C           cores per executor = per task (default 1): spark.executor.cores,
#                       spark.task.cpus and OMP_NUM_THREADS on the executors
#   --memory M          executor heap (default 4g); ND4J's tensors are off-heap, see --overhead
#   --overhead M        spark.executor.memoryOverhead for YARN/Kubernetes (default 8g)
#   --driver-memory M   driver heap (default 4g; in cluster mode the driver's container or pod)
#   --queue Q           YARN queue (spark.yarn.queue)
#   --principal P --keytab F
#                       Kerberos login for long runs: Spark renews the delegation tokens itself. A
#                       store on another NameNode also needs
#                       --conf spark.kerberos.access.hadoopFileSystems=hdfs://other-nn:8020
#   --gpus              one GPU per executor and task (spark.{executor,task}.resource.gpu.amount=1)
#                       with deploy/gpu-discovery.sh on every node: YARN requests yarn.io/gpu and
#                       ships the script with the job; Kubernetes requests nvidia.com/gpu and runs
#                       the image's copy ($CORY_IMAGE_HOME/deploy/gpu-discovery.sh); standalone
#                       expects this checkout's path on every worker
#   --conf K=V          any further Spark property (repeatable; later ones win)
#   --files F           further files for the driver and executors' working directories (repeatable)
# Everything after `--` goes to the application (bin/cory train's arguments).
#
# Environment: SPARK_SUBMIT (default: spark-submit on PATH; may be a whole command such as
# "java -cp '...' org.apache.spark.deploy.SparkSubmit"), CORY_JAR (default: the built jar; on
# Kubernetes the image's local:///opt/cory/cory-driver-spark.jar), CORY_IMAGE_HOME (where the
# image keeps CORY, default /opt/cory), HADOOP_CONF_DIR / YARN_CONF_DIR for YARN.
# Java 17: the driver and executor JVMs need the Aeron/Vector API flags below; spark-submit adds
# Spark's own --add-opens list. Checkpoints and exported agents go to run.store=URI (hdfs://, s3a://)
# or, unset, to the run directory, which must then be a mount shared by the driver and executors.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

master="" deploy_mode=client workers=2 cores=1 memory=4g overhead=8g driver_memory=4g gpus=false
queue="" principal="" keytab=""
extra=() files=()
need() { [[ $# -ge 2 && -n "$2" ]] || { echo "spark-submit.sh: $1 needs a value" >&2; exit 2; }; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --master) need "$@"; master="$2"; shift 2 ;;
    --deploy-mode) need "$@"; deploy_mode="$2"; shift 2 ;;
    --workers) need "$@"; workers="$2"; shift 2 ;;
    --cores) need "$@"; cores="$2"; shift 2 ;;
    --memory) need "$@"; memory="$2"; shift 2 ;;
    --overhead) need "$@"; overhead="$2"; shift 2 ;;
    --driver-memory) need "$@"; driver_memory="$2"; shift 2 ;;
    --queue) need "$@"; queue="$2"; shift 2 ;;
    --principal) need "$@"; principal="$2"; shift 2 ;;
    --keytab) need "$@"; keytab="$2"; shift 2 ;;
    --gpus) gpus=true; shift ;;
    --conf) need "$@"; extra+=(--conf "$2"); shift 2 ;;
    --files) need "$@"; files+=("$2"); shift 2 ;;
    --) shift; break ;;
    *) echo "spark-submit.sh: unknown option '$1' (application arguments go after --)" >&2; exit 2 ;;
  esac
done
if [[ -z "$master" ]]; then
  echo "spark-submit.sh: --master is required" >&2
  exit 2
fi
case "$deploy_mode" in
  client|cluster) ;;
  *) echo "spark-submit.sh: --deploy-mode must be client or cluster, not '$deploy_mode'" >&2; exit 2 ;;
esac
if ! [[ "$workers" =~ ^[1-9][0-9]*$ && "$cores" =~ ^[1-9][0-9]*$ ]]; then
  echo "spark-submit.sh: --workers and --cores must be positive integers (got '$workers', '$cores')" >&2
  exit 2
fi
if [[ -n "$principal" && -z "$keytab" || -z "$principal" && -n "$keytab" ]]; then
  echo "spark-submit.sh: --principal and --keytab go together" >&2
  exit 2
fi
if [[ -n "$keytab" && ! -f "$keytab" ]]; then
  echo "spark-submit.sh: keytab '$keytab' does not exist" >&2
  exit 2
fi
manager=standalone
case "$master" in
  yarn*) manager=yarn ;;
  k8s://*) manager=k8s ;;
  local*) manager=local ;;
esac
image_home="${CORY_IMAGE_HOME:-/opt/cory}"
if [[ -n "${CORY_JAR:-}" ]]; then
  jar="$CORY_JAR"
elif [[ "$manager" == k8s ]]; then
  jar="local://$image_home/cory-driver-spark.jar"
else
  jar="$(ls "$here"/cory-driver/target/cory-driver-*-spark.jar 2>/dev/null | head -n1 || true)"
fi
if [[ -z "$jar" || ( "$jar" != local://* && "$jar" != *://* && ! -f "$jar" ) ]]; then
  echo "spark-submit.sh: no application jar; run 'mvn -B -q package -DskipTests' or set CORY_JAR" >&2
  exit 2
fi

# Aeron/Agrona reach into jdk.internal.misc; the engine's kernels use the incubating Vector API.
jvm_flags="--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED --add-modules=jdk.incubator.vector"
# log4j2.properties: a client-mode driver reads this checkout's copy; YARN containers the copy
# shipped into their working directory; Kubernetes pods the image's; standalone workers this path.
log_driver="$here/conf/log4j2.properties" log_executor="$here/conf/log4j2.properties"
case "$manager" in
  k8s) log_driver="$image_home/conf/log4j2.properties" log_executor="$image_home/conf/log4j2.properties" ;;
  yarn)
    files+=("$here/conf/log4j2.properties")
    log_executor="log4j2.properties"
    if [[ "$deploy_mode" == cluster ]]; then log_driver="log4j2.properties"; fi ;;
esac
conf=(
  --conf "spark.driver.extraJavaOptions=$jvm_flags -Dlog4j2.configurationFile=$log_driver"
  --conf "spark.executor.extraJavaOptions=$jvm_flags -Dlog4j2.configurationFile=$log_executor"
  --conf "spark.driver.memory=$driver_memory"
  # one barrier task per executor: the executor's cores all belong to its task
  --conf "spark.executor.instances=$workers"
  --conf "spark.cores.max=$((workers * cores))"
  --conf "spark.executor.cores=$cores"
  --conf "spark.task.cpus=$cores"
  --conf "spark.executor.memory=$memory"
  --conf "spark.executor.memoryOverhead=$overhead"
  --conf "spark.executorEnv.OMP_NUM_THREADS=$cores"
  --conf "spark.executorEnv.OMP_WAIT_POLICY=PASSIVE"
  # barrier stages need a fixed set of executors, all registered before the first stage
  --conf "spark.dynamicAllocation.enabled=false"
  --conf "spark.scheduler.minRegisteredResourcesRatio=1.0"
)
if [[ -n "$queue" ]]; then
  conf+=(--conf "spark.yarn.queue=$queue")
fi
if [[ -n "$principal" ]]; then
  conf+=(--principal "$principal" --keytab "$keytab")
fi
if [[ "$gpus" == true ]]; then
  conf+=(
    --conf "spark.executor.resource.gpu.amount=1"
    --conf "spark.task.resource.gpu.amount=1"
  )
  case "$manager" in
    yarn)  # Spark maps the gpu resource to YARN's yarn.io/gpu; the script travels with the job
      files+=("$here/deploy/gpu-discovery.sh")
      conf+=(--conf "spark.executor.resource.gpu.discoveryScript=./gpu-discovery.sh") ;;
    k8s)   # nvidia.com/gpu limits on the executor pods; the image carries the script
      conf+=(--conf "spark.executor.resource.gpu.vendor=nvidia.com"
             --conf "spark.executor.resource.gpu.discoveryScript=$image_home/deploy/gpu-discovery.sh") ;;
    *)     # standalone: workers run the script from this path
      conf+=(--conf "spark.executor.resource.gpu.discoveryScript=$here/deploy/gpu-discovery.sh") ;;
  esac
fi
if [[ ${#files[@]} -gt 0 ]]; then
  conf+=(--files "$(IFS=,; echo "${files[*]}")")
fi

submit="${SPARK_SUBMIT:-spark-submit}"
# shellcheck disable=SC2086 # SPARK_SUBMIT may be a whole command line
exec $submit --master "$master" --deploy-mode "$deploy_mode" --class ai.cory.driver.CoryDriver \
  "${conf[@]}" ${extra[@]+"${extra[@]}"} "$jar" "workers=$workers" "$@"
