#!/usr/bin/env bash
# Runs docs/shards/top-activations-array.slurm on a real, single-node SLURM
# cluster stood up here from Debian's packages (slurm-wlm, munge; installed
# with apt-get when missing, which needs root): munged, slurmctld and slurmd
# with a generated slurm.conf for this host (2 CPUs). It submits the array of
# 3 top-activations shards over a small dataset (sample-data, zfnet-tiny),
# whose first task submits the dependent merge job, waits for both, and checks
# that the merged store equals one unsharded pass (every unit statistic and
# top-k row). Everything it starts is stopped when it ends, whatever the
# outcome.
#
#   npm run test:slurm                   # uses dist/ (built when missing)
#   ZFNET_DIST=dist-me bash scripts/test-slurm.sh
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
dist="${ZFNET_DIST:-dist}"
started_s=$SECONDS

if ! command -v slurmctld >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
  if [ "$(id -u)" != "0" ]; then
    echo "test-slurm: slurm-wlm and munge are missing and this user cannot apt-get install them" >&2
    exit 1
  fi
  echo "test-slurm: installing slurm-wlm and munge (apt-get)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi
if [ "$(id -u)" != "0" ]; then
  echo "test-slurm: needs root to start munged, slurmctld and slurmd" >&2
  exit 1
fi
[ -f "$dist/src/cli/main.js" ] || npx tsc -p tsconfig.json --outDir "$dist"

work="$(mktemp -d /tmp/zfnet-slurm-XXXXXX)"
chmod 755 "$work"
conf_dir="$work/slurm"
mkdir -p "$conf_dir/state" "$conf_dir/spool" "$work/bin" "$work/submit/logs" "$work/stores"
export SLURM_CONF="$conf_dir/slurm.conf"
munge_dir="$work/munge"
host="$(hostname -s)"

stop_cluster() {
  local status=$?
  local pids=()
  for pidfile in "$conf_dir/slurmd.pid" "$conf_dir/slurmctld.pid" "$munge_dir/munged.pid"; do
    [ -f "$pidfile" ] && pids+=("$(cat "$pidfile")")
  done
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = "0" ] && break
    sleep 0.2
  done
  if [ "$status" != "0" ]; then
    echo "test-slurm: FAILED; logs kept in $work" >&2
    for log in "$conf_dir"/*.log "$work"/submit/logs/*.out; do
      [ -f "$log" ] && { echo "--- $log" >&2; tail -n 30 "$log" >&2; }
    done
  else
    rm -rf "$work"
  fi
  exit "$status"
}
trap stop_cluster EXIT

# munge: its own key, socket and pid file under the work folder (no system service touched).
mkdir -p "$munge_dir/run" "$munge_dir/log" "$munge_dir/lib"
dd if=/dev/urandom of="$munge_dir/munge.key" bs=1024 count=1 status=none
chown -R munge:munge "$munge_dir"
chmod 755 "$munge_dir" "$munge_dir/run"
chmod 700 "$munge_dir/lib" "$munge_dir/log"
chmod 400 "$munge_dir/munge.key"
socket="$munge_dir/run/munge.socket.2"
runuser -u munge -- munged --key-file="$munge_dir/munge.key" --socket="$socket" --pid-file="$munge_dir/munged.pid" \
  --log-file="$munge_dir/log/munged.log" --seed-file="$munge_dir/lib/munged.seed"

mem_mb=$(( $(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo) - 512 ))
cat > "$SLURM_CONF" <<EOF
ClusterName=zfnet-test
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$socket
CredType=cred/munge
StateSaveLocation=$conf_dir/state
SlurmdSpoolDir=$conf_dir/spool
SlurmctldPidFile=$conf_dir/slurmctld.pid
SlurmdPidFile=$conf_dir/slurmd.pid
SlurmctldLogFile=$conf_dir/slurmctld.log
SlurmdLogFile=$conf_dir/slurmd.log
SlurmctldPort=${ZFNET_SLURMCTLD_PORT:-6817}
SlurmdPort=${ZFNET_SLURMD_PORT:-6818}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
ReturnToService=2
MpiDefault=none
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=$host CPUs=2 RealMemory=$mem_mb State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF

slurmctld -i -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 1 60); do
  state="$(sinfo -h -N -o '%T' 2>/dev/null || true)"
  [ "$state" = "idle" ] && break
  sleep 1
done
[ "$state" = "idle" ] || { echo "test-slurm: node $host is '$state', not idle" >&2; exit 1; }
echo "test-slurm: one-node cluster up ($host, 2 CPUs) after $(( SECONDS - started_s )) s"

# The dataset, a checkpoint and run-pipeline on PATH (as an installed package would be).
printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$(command -v node)" "$repo/$dist/src/cli/main.js" > "$work/bin/run-pipeline"
chmod 755 "$work/bin/run-pipeline"
export PATH="$work/bin:$PATH"
run-pipeline sample-data --out "$work/data" --train-per-class 1 --val-per-class 4 >/dev/null
run-pipeline init --model zfnet-tiny --num-classes 12 --out "$work/zfnet-tiny.safetensors" --backend cpu >/dev/null

cd "$work/submit"
array_job=$(sbatch --parsable --array=0-2 --cpus-per-task=1 --mem=1G \
  --export=ALL,SHARDS=3,DATA="$work/data",CHECKPOINT="$work/zfnet-tiny.safetensors",STORES="$work/stores" \
  "$repo/docs/shards/top-activations-array.slurm")
echo "test-slurm: submitted array job $array_job (3 shards)"

# The merge is submitted by task 0; wait until the array and the merge have left the queue.
for _ in $(seq 1 900); do
  [ -f "$work/stores/all.db" ] && [ -z "$(squeue -h -o '%i' 2>/dev/null)" ] && break
  sleep 1
done
[ -z "$(squeue -h -o '%i')" ] || { echo "test-slurm: jobs still queued after 900 s:" >&2; squeue >&2; exit 1; }
for task in 0 1 2; do
  log="logs/topact-${array_job}_${task}.out"
  grep -q " finished " "$log" || { echo "test-slurm: shard $task did not finish ($log)" >&2; exit 1; }
done
merge_log="$(ls logs/topact-merge-*.out)"
echo "test-slurm: merge: $(tail -n 1 "$merge_log")"
[ -f "$work/stores/all.db" ] || { echo "test-slurm: the merge wrote no $work/stores/all.db" >&2; exit 1; }

# One unsharded pass with the same data and weights, outside SLURM, as the reference.
run-pipeline top-activations --data "$work/data" --split val --checkpoint "$work/zfnet-tiny.safetensors" --db "$work/one-pass.db" >/dev/null
node "$repo/$dist/test/shards/compare-stores.js" "$work/stores/all.db" "$work/one-pass.db"
echo "test-slurm: passed in $(( SECONDS - started_s )) s"
