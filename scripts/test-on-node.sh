#!/usr/bin/env bash
# Runs the whole test suite on another Node.js major version, for example
#   npm run test:node -- 24
# The Node binary comes from the npm registry (scripts/registry-node.sh, kept
# under out/node-<major>/). better-sqlite3 is the only native addon built for one
# Node ABI (sharp and onnxruntime-node use N-API): its binary is rebuilt for
# the target once, cached per ABI under out/sqlite-bindings/, and the one for
# the Node on PATH is put back when the run ends, whatever its outcome.
set -euo pipefail
cd "$(dirname "$0")/.."
major="${1:?usage: test-on-node.sh MAJOR [test runner args...]}"
shift
node_dir="$(dirname "$(bash scripts/registry-node.sh "$major")")"
target_node="$node_dir/bin/node"
binding=node_modules/better-sqlite3/build/Release/better_sqlite3.node
cache=out/sqlite-bindings
mkdir -p "$cache"
system_abi="$(node -p process.versions.modules)"
target_abi="$("$target_node" -p process.versions.modules)"
[ -f "$cache/abi-$system_abi.node" ] || cp "$binding" "$cache/abi-$system_abi.node"
restore() { cp "$cache/abi-$system_abi.node" "$binding"; }
trap restore EXIT
if [ -f "$cache/abi-$target_abi.node" ]; then
  cp "$cache/abi-$target_abi.node" "$binding"
else
  echo "building better-sqlite3 for Node $("$target_node" --version) (ABI $target_abi)"
  PATH="$node_dir/bin:$PATH" npm rebuild better-sqlite3 --nodedir="$node_dir" >/dev/null
  cp "$binding" "$cache/abi-$target_abi.node"
fi
echo "running the suite on Node $("$target_node" --version)"
PATH="$node_dir/bin:$PATH" npx tsc -p tsconfig.json
PATH="$node_dir/bin:$PATH" node dist/test/run-tests.js "$@"
