#!/usr/bin/env bash
# Runs on the GPU machine (the device tool's working copy, with out/gpu-bundle
# carried): unpacks the bundle made by make-bundle.sh and runs the GPU check.
# Its figures go to $OUT/gpu-check.json and stdout.
set -euo pipefail
cd "$(dirname "$0")/../.."
work="${TMPDIR:-/tmp}/zfnet-gpu-check"
rm -rf "$work" && mkdir -p "$work"
xz -dc out/gpu-bundle/bundle.tar.xz | tar -C "$work" -xf -
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true
ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>/dev/null || echo "no Vulkan ICD files found (webgpu will find no adapter)"
export OUT="${OUT:-$PWD/out}"
mkdir -p "$OUT"
(cd "$work" && ./bin/node scripts/gpu-check/gpu-check.mjs "${1:-6}" "${2:-32}")
