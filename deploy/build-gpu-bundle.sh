#!/usr/bin/env bash
# Builds the GPU check bundle: everything `deploy/gpu-check.sh` needs on a bare GPU machine
# (an NVIDIA driver and a CUDA 12.x/13.x installation's NVRTC and cuBLAS; no JDK, no Maven):
#   java/          a jlinked Java 17 runtime (java.base, java.logging, jdk.unsupported; compressed)
#   lib/           cory-common's classes as a jar (the kernels' CUDA C sources inside) and JNA
#   gpu-check.sh   the entry point
# into target/gpu-check/ and target/gpu-check.tar.gz (or $CORY_BUNDLE_OUT/...), and refuses a
# bundle over 60 MB unpacked.
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
jna_version=$(sed -n 's:.*<jna.version>\(.*\)</jna.version>.*:\1:p' pom.xml)
jna_jar=${HOME}/.m2/repository/net/java/dev/jna/jna/$jna_version/jna-$jna_version.jar
if [ ! -f "$jna_jar" ]; then
  echo "build-gpu-bundle: JNA $jna_version is not in ~/.m2: run the Maven build first" >&2
  exit 2
fi
bin=${JAVA_HOME:+$JAVA_HOME/bin/}
if ! command -v "${bin}jlink" >/dev/null; then
  echo "build-gpu-bundle: jlink not found (a JDK 17 builds the bundle; running it needs none)" >&2
  exit 2
fi
rm -rf "$OUT" "$base/gpu-check.tar.gz"
mkdir -p "$OUT/lib"
echo "build-gpu-bundle: jlink java.base, java.logging, jdk.unsupported"
"${bin}jlink" --add-modules java.base,java.logging,jdk.unsupported --strip-debug --no-man-pages \
  --no-header-files --compress=2 --output "$OUT/java"
"${bin}jar" --create --file "$OUT/lib/cory-common.jar" -C "$classes" .
cp "$jna_jar" "$OUT/lib/jna.jar"
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
