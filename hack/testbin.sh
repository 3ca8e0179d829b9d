#!/usr/bin/env bash
# testbin.sh — builds the real control-plane binaries the end-to-end tests run against, from the Go
# module proxy only, and caches them by version so only the first run on a machine pays (~15 min of
# CPU: about 8-15 min on 2 cores). Prints the binary folder on its last line.
#
#   hack/testbin.sh build   build (or reuse) etcd, kube-apiserver, kube-controller-manager,
#                           kube-scheduler, kubectl, kwok (+ kwok stage files)
#   hack/testbin.sh path    print the folder the binaries live in (no build)
#
# Tests find the folder through KAITO_SYNC_TESTBIN (exported by hack/test.sh) or the same default
# path (test/e2e/testenv.BinDir; keep the versions there in step with these).
# Each binary is built into a staging folder and renamed into place, so an interrupted build never
# leaves a truncated binary that looks cached; concurrent builds wait for each other (flock).
set -euo pipefail
K8S_VERSION=${K8S_VERSION:-1.37.2}   # k8s.io/kubernetes v1.37.2 -> staging modules v0.37.2
ETCD_VERSION=${ETCD_VERSION:-3.6.16}
KWOK_VERSION=${KWOK_VERSION:-0.8.0}
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}
BIN=${KAITO_SYNC_TESTBIN:-$CACHE/kaito-sync/testbin/k8s-$K8S_VERSION-etcd-$ETCD_VERSION-kwok-$KWOK_VERSION}
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0

want="etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok kwok-stages.yaml"
WORK="" STAGE=""
cleanup() { if [ -n "$WORK" ]; then rm -rf "$WORK"; fi; if [ -n "$STAGE" ]; then rm -rf "$STAGE"; fi; }
trap cleanup EXIT

have_all() {
  local b
  for b in $want; do [ -s "$BIN/$b" ] || return 1; done
}

build() {
  if have_all; then echo "cached: $BIN" >&2; echo "$BIN"; return; fi
  mkdir -p "$BIN"
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$BIN.lock"
    flock 9
    if have_all; then echo "built meanwhile: $BIN" >&2; echo "$BIN"; return; fi
  fi
  echo "building control-plane binaries into $BIN (first time only; takes several minutes)" >&2
  local t0=$SECONDS
  WORK=$(mktemp -d)
  STAGE=$(mktemp -d "$BIN.partial.XXXXXX")  # next to $BIN: same file system, so mv is a rename
  local stage=$STAGE
  local minor=${K8S_VERSION#*.}; local staging="0.${minor}"

  # kubernetes: its go.mod replaces every staging module with ./staging/...; a throwaway module
  # re-points each of them at the published v0.X.Y so the commands build from the proxy.
  local cmds="" c
  for c in kube-apiserver kubectl kube-controller-manager kube-scheduler; do
    [ -s "$BIN/$c" ] || cmds="$cmds $c"
  done
  if [ -n "$cmds" ]; then
    mkdir -p "$WORK/kube" && cd "$WORK/kube"
    local kmod; kmod=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
    { echo "module testbin/kube"; echo; echo "go 1.26.0"; echo; echo "require k8s.io/kubernetes v$K8S_VERSION"; echo; echo "replace ("
      sed -n 's#^\s*\(k8s\.io/[a-z0-9-]*\) => \./staging/.*#\1#p' "$kmod" | while read -r m; do echo "	$m => $m v$staging"; done
      echo ")"; } > go.mod
    { echo "//go:build tools"; echo "package tools"; for c in $cmds; do echo "import _ \"k8s.io/kubernetes/cmd/$c\""; done; } > tools.go
    go mod tidy
    local V="k8s.io/component-base/version" C="k8s.io/client-go/pkg/version" maj=${K8S_VERSION%%.*} min=${minor%%.*}
    local ldf="-s -w -X $V.gitVersion=v$K8S_VERSION -X $V.gitMajor=$maj -X $V.gitMinor=$min -X $V.gitTreeState=clean"
    ldf="$ldf -X $C.gitVersion=v$K8S_VERSION -X $C.gitMajor=$maj -X $C.gitMinor=$min"
    local pkgs=""; for c in $cmds; do pkgs="$pkgs k8s.io/kubernetes/cmd/$c"; done
    # shellcheck disable=SC2086
    go build -trimpath -ldflags "$ldf" -o "$stage/" $pkgs
    for c in $cmds; do mv -f "$stage/$c" "$BIN/$c"; done
  fi

  # etcd: its module has ../ replaces too, so another throwaway module; the main package is the root.
  if [ ! -s "$BIN/etcd" ]; then
    mkdir -p "$WORK/etcd" && cd "$WORK/etcd"
    printf 'module testbin/etcd\n\ngo 1.26.0\n\nrequire go.etcd.io/etcd/server/v3 v%s\n' "$ETCD_VERSION" > go.mod
    printf '//go:build tools\npackage tools\nimport _ "go.etcd.io/etcd/server/v3"\n' > tools.go
    go mod tidy && go build -trimpath -ldflags "-s -w" -o "$stage/etcd" go.etcd.io/etcd/server/v3
    mv -f "$stage/etcd" "$BIN/etcd"
  fi

  # kwok: a plain go install works; its stage files (node init, heartbeat, pod ready/complete/delete)
  # come from the module zip.
  if [ ! -s "$BIN/kwok" ] || [ ! -s "$BIN/kwok-stages.yaml" ]; then
    cd "$WORK"
    GOFLAGS= GOBIN="$stage" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION"
    local kd f; kd=$(GOFLAGS= go mod download -json "sigs.k8s.io/kwok@v$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')/kustomize/stage
    for f in node/fast/node-initialize.yaml node/heartbeat/node-heartbeat.yaml pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
      echo "---"; cat "$kd/$f"; done > "$stage/kwok-stages.yaml"
    mv -f "$stage/kwok" "$BIN/kwok"
    mv -f "$stage/kwok-stages.yaml" "$BIN/kwok-stages.yaml"
  fi
  cd /
  have_all || { echo "build finished but $BIN is incomplete" >&2; exit 1; }
  echo "built in $((SECONDS - t0))s: $BIN" >&2
  echo "$BIN"
}

case "${1:-build}" in
  build) build ;;
  path) echo "$BIN" ;;
  *) echo "usage: $0 build|path" >&2; exit 2 ;;
esac
