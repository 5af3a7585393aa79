#!/usr/bin/env bash
# Packs what scripts/gpu-check/gpu-check.mjs needs on a GPU machine that has
# no Node.js and no network: a Node binary (from the npm registry's node
# package, see scripts/registry-node.sh), onnxruntime-node with its linux-x64
# library only, protobufjs, and the compiled graph builders. Writes
# out/gpu-bundle/bundle.tar.xz (about 40 MB; the device tool carries 64 MiB).
# Then, with the device tool: carry out/gpu-bundle and run
#   bash scripts/gpu-check/on-device.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
npx tsc -p tsconfig.json
node_bin="$(bash scripts/registry-node.sh 22)/node"
stage=out/gpu-bundle/stage
rm -rf out/gpu-bundle && mkdir -p "$stage/node_modules/onnxruntime-node/bin/napi-v6/linux" "$stage/bin"
cp "$node_bin" "$stage/bin/node"
cp package.json "$stage/"
cp -r dist "$stage/dist"
rm -rf "$stage/dist/test" "$stage/dist/bench"
for pkg in onnxruntime-common protobufjs long; do cp -r "node_modules/$pkg" "$stage/node_modules/$pkg"; done
cp -r node_modules/@protobufjs "$stage/node_modules/" 2>/dev/null || true
ort=node_modules/onnxruntime-node
cp "$ort/package.json" "$stage/$ort/"
cp -r "$ort/dist" "$stage/$ort/dist"
cp -r "$ort/bin/napi-v6/linux/x64" "$stage/$ort/bin/napi-v6/linux/x64"
mkdir -p "$stage/scripts/gpu-check" && cp scripts/gpu-check/gpu-check.mjs "$stage/scripts/gpu-check/"
tar -C "$stage" -cf - . | xz -9 -T0 > out/gpu-bundle/bundle.tar.xz
rm -rf "$stage"
ls -l out/gpu-bundle/bundle.tar.xz
