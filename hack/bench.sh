#!/usr/bin/env bash
# bench.sh — the benchmarks of BENCHMARKS.md: kaito-sync against a real control plane (etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler, kwok on loopback) beside the floor (a
# plain parallel server-side apply of the same objects) and `kubectl apply --server-side`, in the
# same run. Prints the machine, then go test's benchmark lines, then the table.
#
#   hack/bench.sh                      # everything (~17 min on 2 cores at load 3; longer when shared)
#   BENCH='Fleet1000' hack/bench.sh    # a subset (a go test -bench regexp)
#   PROFILE=/tmp/prof hack/bench.sh    # also write cpu.pprof and mem.pprof there
#
# Benchmarks: ColdSync (N=100, 1000), Fleet1000 (no-op resync, restart, push → applied), Render,
# PeakRSS, GitFetch, ApplyVsFloor; ColdPhases (phase split) runs only when named in BENCH.
set -euo pipefail
cd "$(dirname "$0")/.."

BENCH=${BENCH:-'ColdSync|Fleet1000|Render$|PeakRSS|GitFetch|ApplyVsFloor'}
KAITO_SYNC_TESTBIN=$(hack/testbin.sh build | tail -n 1)
KAITO_SYNC_KUSTOMIZE=$(hack/kustomize.sh build | tail -n 1)
export KAITO_SYNC_TESTBIN KAITO_SYNC_KUSTOMIZE

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(go version | cut -d' ' -f3-)"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
prof=()
if [ -n "${PROFILE:-}" ]; then
  mkdir -p "$PROFILE"
  prof=(-cpuprofile "$PROFILE/cpu.pprof" -memprofile "$PROFILE/mem.pprof" -o "$PROFILE/bench.test")
fi
# From inside the folder, without a package argument: go test then streams each benchmark's line
# as it finishes instead of holding everything until the end. PeakRSS gets a control plane of its
# own, started empty: what other benchmarks leave in the cluster must not weigh on its process.
run() { (cd bench && go test -run '^$' -bench "$1" -benchtime 1x -timeout 90m "${@:2}"); }
if [[ "$BENCH" == *PeakRSS* ]]; then
  run 'PeakRSS'
  BENCH=${BENCH//PeakRSS/NONE}
fi
run "$BENCH" "${prof[@]}"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
