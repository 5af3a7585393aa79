#!/usr/bin/env bash
# Prints the bin folder of a Node.js of the given major version, for example
#   PATH="$(bash scripts/registry-node.sh 22):$PATH"
# The binary comes from the npm registry's node-linux-<arch> package (the same
# files as the official tarball, headers included), so CI needs no access
# beyond the registry; it is kept under out/node-<major>/ and installed once.
set -euo pipefail
cd "$(dirname "$0")/.."
major="${1:?usage: registry-node.sh MAJOR}"
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64) arch=arm64 ;;
  *) echo "registry-node.sh: no node-linux package for $(uname -m)" >&2; exit 2 ;;
esac
node_pkg="out/node-$major/node_modules/node-linux-$arch"
if [ ! -x "$node_pkg/bin/node" ]; then
  echo "installing node-linux-$arch@$major from the npm registry into out/node-$major" >&2
  mkdir -p "out/node-$major"
  npm install --no-save --no-package-lock --prefix "out/node-$major" "node-linux-$arch@$major" >/dev/null
fi
echo "$(cd "$node_pkg/bin" && pwd)"
