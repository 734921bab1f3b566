#!/usr/bin/env bash
# Builds the GPU check bundle: everything `deploy/gpu-check.sh` needs on a bare GPU machine
# (an NVIDIA driver and a CUDA 12.x/13.x installation's NVRTC and cuBLAS; no JDK, no Maven):
#   java/          a jlinked Java 17 runtime (java.base, java.logging, java.management,
#                  jdk.management, jdk.unsupported; compressed, libjvm.so stripped when
#                  `strip` is there)
#   lib/           cory-common's classes as a jar (the kernels' CUDA C sources inside), JNA, and
#                  what the engine comparisons need besides: JavaCPP and its OpenBLAS (the CPU
#                  engine), ND4J's API jar (data types only: without ND4J's 315 MB native library
#                  the engine allocates through JavaCPP), Jackson (goldens), SLF4J's API
#   shared/        stories260K and its PyTorch goldens (the GPT-2 ones would take it past 60 MB)
#   gpu-check.sh   the entry point
# into target/gpu-check/ and target/gpu-check.tar.gz (or $CORY_BUNDLE_OUT/...), and refuses a
# bundle over 60 MB unpacked. The shared goldens come from $CORY_SHARED_DIR or ../shared.
#
#   mvn -B -q package -DskipTests && deploy/build-gpu-bundle.sh
#   scp target/gpu-check.tar.gz gpu-host: && ssh gpu-host 'tar xzf gpu-check.tar.gz && gpu-check/gpu-check.sh'
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
LIMIT_MB=${CORY_BUNDLE_LIMIT_MB:-60}
base=${CORY_BUNDLE_OUT:-$root/target}
OUT=$base/gpu-check
classes=cory-common/target/classes
if [ ! -f "$classes/ai/cory/common/cuda/GpuCheck.class" ]; then
  echo "build-gpu-bundle: $classes has no GpuCheck: run 'mvn -B -q package -DskipTests' first" >&2
  exit 2
fi
repo=${HOME}/.m2/repository
prop() { sed -n "s:.*<$1>\\(.*\\)</$1>.*:\\1:p" pom.xml | head -1; }
jna=$(prop jna.version) javacpp=$(prop javacpp.version) openblas=$(prop openblas.version)
nd4j=$(prop nd4j.version) jackson=$(prop jackson.version) slf4j=$(prop slf4j.version)
jars=(
  "net/java/dev/jna/jna/$jna/jna-$jna.jar"
  "org/bytedeco/javacpp/$javacpp/javacpp-$javacpp.jar"
  "org/bytedeco/javacpp/$javacpp/javacpp-$javacpp-linux-x86_64.jar"
  "org/bytedeco/openblas/$openblas/openblas-$openblas.jar"
  "org/bytedeco/openblas/$openblas/openblas-$openblas-linux-x86_64.jar"
  "org/nd4j/nd4j-api/$nd4j/nd4j-api-$nd4j.jar"
  "com/fasterxml/jackson/core/jackson-databind/$jackson/jackson-databind-$jackson.jar"
  "com/fasterxml/jackson/core/jackson-core/$jackson/jackson-core-$jackson.jar"
  "com/fasterxml/jackson/core/jackson-annotations/$jackson/jackson-annotations-$jackson.jar"
  "org/slf4j/slf4j-api/$slf4j/slf4j-api-$slf4j.jar"
)
for j in "${jars[@]}"; do
  if [ ! -f "$repo/$j" ]; then
    echo "build-gpu-bundle: $repo/$j is missing: run the Maven build first" >&2
    exit 2
  fi
done
shared=${CORY_SHARED_DIR:-$root/../shared}
shared_files=(assets/models/stories260K/config.json assets/models/stories260K/model.safetensors
  golden/llama_stories260K_forward.json golden/llama_stories260K_batch_padded.json
  golden/llama_stories260K_grads.json)
bin=${JAVA_HOME:+$JAVA_HOME/bin/}
if ! command -v "${bin}jlink" >/dev/null; then
  echo "build-gpu-bundle: jlink not found (a JDK 17 builds the bundle; running it needs none)" >&2
  exit 2
fi
rm -rf "$OUT" "$base/gpu-check.tar.gz"
mkdir -p "$OUT/lib"
modules=java.base,java.logging,java.management,jdk.management,jdk.unsupported
echo "build-gpu-bundle: jlink $modules"
"${bin}jlink" --add-modules "$modules" --strip-debug --no-man-pages \
  --no-header-files --compress=2 --output "$OUT/java"
if command -v strip >/dev/null; then # the JVM's symbol table: 4 MB nobody needs here
  strip --strip-unneeded "$OUT/java/lib/server/libjvm.so"
fi
"${bin}jar" --create --file "$OUT/lib/cory-common.jar" -C "$classes" .
for j in "${jars[@]}"; do
  cp "$repo/$j" "$OUT/lib/"
done
mv "$OUT/lib/jna-$jna.jar" "$OUT/lib/jna.jar"
if [ -d "$shared/golden" ]; then
  for f in "${shared_files[@]}"; do
    mkdir -p "$OUT/shared/$(dirname "$f")"
    cp "$shared/$f" "$OUT/shared/$f"
  done
else
  echo "build-gpu-bundle: no $shared/golden: the bundle's golden comparisons will say so" >&2
fi
cp deploy/gpu-check.sh "$OUT/gpu-check.sh"
chmod +x "$OUT/gpu-check.sh"
tar -C "$base" -czf "$base/gpu-check.tar.gz" gpu-check
size=$(stat -c %s "$base/gpu-check.tar.gz")
unpacked=$(du -sb "$OUT" | cut -f1)
echo "build-gpu-bundle: $base/gpu-check.tar.gz $((size / 1024 / 1024)) MB ($((unpacked / 1024 / 1024)) MB unpacked, limit ${LIMIT_MB} MB)"
if [ "$unpacked" -gt $((LIMIT_MB * 1024 * 1024)) ]; then
  echo "build-gpu-bundle: the bundle is over ${LIMIT_MB} MB unpacked" >&2
  exit 1
fi
