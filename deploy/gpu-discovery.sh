#!/usr/bin/env bash
# Spark GPU discovery script (spark.executor.resource.gpu.discoveryScript): prints the GPUs of
# this host as Spark's ResourceInformation JSON, e.g. {"name":"gpu","addresses":["0","1"]}.
# Spark assigns one address to each executor/task; ND4J's CUDA backend then uses that device.
set -euo pipefail
if ! command -v nvidia-smi >/dev/null 2>&1; then
  echo '{"name":"gpu","addresses":[]}'
  exit 0
fi
ids=$(nvidia-smi --query-gpu=index --format=csv,noheader | tr -d ' ' | sed 's/.*/"&"/' | paste -sd, -)
echo "{\"name\":\"gpu\",\"addresses\":[${ids}]}"
