#!/usr/bin/env bash
# Builds docker/Dockerfile on a machine that reaches no container registry, then starts the image.
#
#   docker/build-local.sh            # after `mvn -B -q package -DskipTests`; run as root
#
# The Dockerfile's two FROM images (the CUDA runtime base and the apache/spark image) cannot be
# pulled here, so they are replaced by local stand-ins given as build arguments:
#   cory-local/base   a Debian bookworm root file system (debootstrap), in place of
#                     nvidia/cuda:12.4.1-runtime-ubuntu22.04 (the packages the Dockerfile installs
#                     have the same names on both);
#   cory-local/spark  that base plus a Spark 3.5 / Scala 2.12 jars directory resolved by Maven from
#                     the artifacts a Spark distribution ships (spark-core, spark-sql,
#                     spark-kubernetes, hadoop-client, log4j), a minimal bin/spark-submit and a
#                     pass-through entrypoint, in place of apache/spark's distribution.
# Everything CORY adds (Java 17 from Debian, the shaded jar, conf/, deploy/, the user, the paths
# the manifests name) is built from docker/Dockerfile unchanged. The image is then started with no
# network: deploy/spark-submit.sh inside it submits the demo run (2 iterations, 2 workers,
# local[2]) with the image's jar against only the stand-in Spark's jars, and the run must finish.
# Needs Debian's docker.io and debootstrap (installed when missing) and deb.debian.org. The Docker
# daemon, when none runs, is started as STACK.md describes (vfs storage, no iptables, no bridge).
# Exit codes: 0 built and trained; 2 no jar (run mvn package); 3 no Docker engine can run here
# (not root, the packages cannot be installed, dockerd does not start, or less than 12 GB of disk
# for its vfs storage); 1 anything else.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${CORY_DOCKER_WORK:-/tmp/cory-docker}"
spark_version=3.5.9 spark_k8s_version=3.5.6 hadoop_version=3.4.3 log4j_version=2.20.0
mkdir -p "$work"
step() { printf '\n== %s (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }

jar="$(ls "$here"/cory-driver/target/cory-driver-*-spark.jar 2>/dev/null | head -n1 || true)"
[[ -n "$jar" ]] || { echo "build-local.sh: run 'mvn -B -q package -DskipTests' first" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "build-local.sh: no Docker engine: run as root (dockerd, debootstrap)" >&2; exit 3; }

need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)
if [[ ${#need[@]} -gt 0 ]]; then
  step "installing ${need[*]}"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; } \
    || { echo "build-local.sh: no Docker engine: could not install ${need[*]}" >&2; exit 3; }
fi
if ! docker info >/dev/null 2>&1; then
  step "starting dockerd (log: $work/dockerd.log)"
  nohup dockerd --storage-driver=vfs --iptables=false --bridge=none >"$work/dockerd.log" 2>&1 &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { echo "build-local.sh: no Docker engine: dockerd did not start: $(tail -5 "$work/dockerd.log")" >&2; exit 3; }
fi

# the vfs storage driver keeps every layer as a full copy: about 7 GB for the three images
free_gb=$(df -Pk "$(docker info --format '{{.DockerRootDir}}')" | awk 'NR == 2 {print int($4 / 1048576)}')
if [[ $free_gb -lt 12 ]]; then
  echo "build-local.sh: no Docker engine can run here: ${free_gb} GB free for its storage, 12 GB needed" >&2
  exit 3
fi

if ! docker image inspect cory-local/base >/dev/null 2>&1; then
  step "cory-local/base: debootstrap bookworm"
  rm -rf "$work/rootfs"
  debootstrap --variant=minbase bookworm "$work/rootfs" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  tar -C "$work/rootfs" -c . | docker import - cory-local/base >/dev/null
fi

if ! docker image inspect cory-local/spark >/dev/null 2>&1; then
  step "cory-local/spark: Spark $spark_version / Scala 2.12 jars from Maven"
  rm -rf "$work/spark" && mkdir -p "$work/spark"
  cat >"$work/spark/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local</groupId><artifactId>spark-dist</artifactId><version>1</version><packaging>pom</packaging>
  <!-- Spark's own build pins Jackson 2.15.2 and SLF4J 2.0.7 (what its distribution ships); plain mediation would not -->
  <dependencyManagement><dependencies>
    <dependency><groupId>com.fasterxml.jackson</groupId><artifactId>jackson-bom</artifactId><version>2.15.2</version><type>pom</type><scope>import</scope></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>2.0.7</version></dependency>
  </dependencies></dependencyManagement>
  <dependencies>
    <dependency><groupId>org.apache.spark</groupId><artifactId>spark-core_2.12</artifactId><version>$spark_version</version></dependency>
    <dependency><groupId>org.apache.spark</groupId><artifactId>spark-sql_2.12</artifactId><version>$spark_version</version></dependency>
    <dependency><groupId>org.apache.spark</groupId><artifactId>spark-kubernetes_2.12</artifactId><version>$spark_k8s_version</version></dependency>
    <dependency><groupId>org.apache.hadoop</groupId><artifactId>hadoop-client-api</artifactId><version>$hadoop_version</version></dependency>
    <dependency><groupId>org.apache.hadoop</groupId><artifactId>hadoop-client-runtime</artifactId><version>$hadoop_version</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId><version>$log4j_version</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$log4j_version</version></dependency>
  </dependencies>
</project>
POM
  (cd "$work/spark" && mvn -B -q dependency:copy-dependencies -DoutputDirectory=jars -DincludeScope=runtime)
  cat >"$work/spark/spark-submit" <<'SH'
#!/usr/bin/env bash
# Stand-in for a Spark distribution's bin/spark-submit: SparkSubmit on the jars directory with the
# Java 17 module flags Spark's launcher adds and, as the launcher does for a client-mode driver,
# the JVM options and heap of --conf spark.driver.extraJavaOptions / spark.driver.memory.
driver_opts="" heap=1g
args=("$@")
for ((i = 0; i + 1 < ${#args[@]}; i++)); do
  if [[ "${args[i]}" == --conf ]]; then
    case "${args[i+1]}" in
      spark.driver.extraJavaOptions=*) driver_opts="${args[i+1]#*=}" ;;
      spark.driver.memory=*) heap="${args[i+1]#*=}" ;;
    esac
  fi
done
# shellcheck disable=SC2086 # the options are a list of words, as Spark's launcher splits them
exec "${JAVA_HOME:-/usr}/bin/java" -Xmx"$heap" $driver_opts \
  --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.lang.invoke=ALL-UNNAMED \
  --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED \
  --add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED \
  --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED \
  --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED \
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/sun.nio.cs=ALL-UNNAMED \
  --add-opens=java.base/sun.security.action=ALL-UNNAMED --add-opens=java.base/sun.util.calendar=ALL-UNNAMED \
  -Djdk.reflect.useDirectMethodHandle=false \
  -cp "/opt/spark/conf:/opt/spark/jars/*" org.apache.spark.deploy.SparkSubmit "$@"
SH
  printf '#!/usr/bin/env bash\nexec "$@"\n' >"$work/spark/entrypoint.sh"
  printf '#!/usr/bin/env bash\nexit 0\n' >"$work/spark/decom.sh"
  chmod +x "$work/spark/"*.sh "$work/spark/spark-submit"
  cat >"$work/spark/Dockerfile" <<'DF'
FROM cory-local/base
COPY jars/ /opt/spark/jars/
COPY spark-submit /opt/spark/bin/spark-submit
COPY entrypoint.sh decom.sh /opt/
DF
  docker build -q -t cory-local/spark "$work/spark" >/dev/null
fi

step "docker build -f docker/Dockerfile (stand-in bases)"
t0=$(date +%s)
# only what the Dockerfile copies travels to the daemon
ctx="$work/context"; rm -rf "$ctx"; mkdir -p "$ctx/cory-driver/target"
cp "$jar" "$ctx/cory-driver/target/"; cp -r "$here/conf" "$here/deploy" "$ctx/"
docker build --network host -f "$here/docker/Dockerfile" --build-arg CUDA_IMAGE=cory-local/base \
  --build-arg SPARK_IMAGE=cory-local/spark -t cory:local "$ctx"
echo "image built in $(( $(date +%s) - t0 )) s: $(docker image inspect cory:local --format '{{.Size}}' | awk '{printf "%.0f MB", $1/1e6}')"

step "docker run --network none cory:local: the demo run through deploy/spark-submit.sh"
# (--network none leaves a container's own host name unresolvable: it is called localhost here)
docker run --rm --network none --hostname localhost --shm-size=512m -e SPARK_SUBMIT=/opt/spark/bin/spark-submit \
  -e CORY_JAR=/opt/cory/cory-driver-spark.jar cory:local \
  bash -c 'java -version 2>&1 | head -1; id; /opt/cory/deploy/spark-submit.sh --master "local[2]" --workers 2 \
    --memory 1g --driver-memory 1g -- --run-dir /opt/cory/runs/demo run.iterations=2 \
    && ls /opt/cory/runs/demo && test "$(wc -l < /opt/cory/runs/demo/metrics.jsonl)" = 2' | tee "$work/run.log"
echo "build-local.sh: the image built and trained (log: $work/run.log)"
