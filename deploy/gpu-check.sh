#!/usr/bin/env bash
# The GPU check (docs/engine.md, "The GPU check"). Runs from the bundle that
# deploy/build-gpu-bundle.sh builds (java/ and lib/ beside this script) or from a checkout after
# `mvn package` (the system's java). Needs the NVIDIA driver and a CUDA 12.x or 13.x
# installation's libnvrtc and libcublas: found in $CORY_CUDA_LIB_DIR, $CUDA_HOME/lib64,
# /usr/local/cuda/lib64 or the loader's path.
#
#   gpu-check.sh [--no-bench] [--peer PATH/torch_peer.py]
#   gpu-check.sh --compile sm_80,sm_86,sm_89,sm_90   (every kernel through NVRTC; no GPU needed)
#   gpu-check.sh --cpu-goldens                       (the CPU engine against the bundled goldens)
#
# Prints JSON lines: the device; NVRTC and cuBLAS; every kernel and cuBLAS against float64
# references; the engine on the GPU against the CPU engine and stories260K's PyTorch goldens;
# then GEMM, dequantisation and engine score/train/generate throughput at GPT-2-small and
# Llama-2-7B shapes. With
# --peer (and python3 with torch), the PyTorch peer's generate/score/train on the same GPU
# and shapes. Exit status: 0 all comparisons within tolerance, 1 one was not, 3 no usable GPU.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bench=()
peer=""
while [ $# -gt 0 ]; do
  case "$1" in
    --no-bench) bench=(--no-bench); shift ;;
    --compile) bench=(--compile "${2:?--compile needs targets, e.g. sm_80,sm_90}"); shift 2 ;;
    --cpu-goldens) bench=(--cpu-goldens); shift ;;
    --peer) peer=${2:?--peer needs the path of torch_peer.py}; shift 2 ;;
    *) echo "gpu-check: unknown option $1 (use --no-bench, --peer PATH)" >&2; exit 2 ;;
  esac
done
shared=()
if [ -x "$here/java/bin/java" ]; then
  java="$here/java/bin/java"; cp="$here/lib/*"
  [ -d "$here/shared/golden" ] && shared=(--shared "$here/shared")
else
  java=${JAVA_HOME:+$JAVA_HOME/bin/}java
  root=$(cd "$here/.." && pwd)
  v=$(sed -n 's:.*<jna.version>\(.*\)</jna.version>.*:\1:p' "$root/pom.xml")
  jna=${HOME}/.m2/repository/net/java/dev/jna/jna/$v/jna-$v.jar
  cp="$root/cory-common/target/classes:$jna"
fi
# the engine's host buffers are JavaCPP allocations here (no ND4J native library): no cap but
# the machine's (the 7B benchmark's packed base is 4.5 GB off the heap)
"$java" -Xmx4g -Dorg.bytedeco.javacpp.maxBytes=0 -Dorg.bytedeco.javacpp.maxPhysicalBytes=0 \
  -cp "$cp" ai.cory.common.cuda.GpuCheck "${bench[@]}" "${shared[@]}"
status=$?
if [ -n "$peer" ] && [ "$status" -ne 3 ]; then
  if python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    for model in gpt2-small llama2-7b; do
      for dtype in float32 tf32 bfloat16; do
        # the engine bench's shapes (EngineBench.CASES; bin/cory doctor --gpu-check --peer pairs them)
        extra=(--seq 128 --prompt 8 --new 32 --repeats 5)
        [ "$model" = llama2-7b ] && extra+=(--batch 4 --lora-rank 16)
        python3 "$peer" --device cuda --dtype "$dtype" --model "$model" "${extra[@]}" || status=1
      done
    done
  else
    echo '{"peer":null,"error":"python3 with CUDA torch is not available here"}'
  fi
fi
exit "$status"
