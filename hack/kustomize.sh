#!/usr/bin/env bash
# kustomize.sh — builds the kustomize CLI from the Go module proxy, at the release that uses the same
# sigs.k8s.io/kustomize/api as kaito-sync (go.mod), and caches it by version. Prints the binary's path
# on its last line.
#
#   hack/kustomize.sh build   build (or reuse) the binary
#   hack/kustomize.sh path    print where the binary lives (no build)
#
# The render tests compare kaito-sync's in-process build with `kustomize build` of the written
# overlays; they find the binary through KAITO_SYNC_KUSTOMIZE or this default path, skip when it is
# missing, and fail when CI=true.
set -euo pipefail
cd "$(dirname "$0")/.."

# kustomize/v5 v5.8.2 is the release built on api v0.21.2 and kyaml v0.21.2.
KUSTOMIZE_VERSION=${KUSTOMIZE_VERSION:-5.8.2}
API_VERSION=v0.21.2
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}
BIN=${KAITO_SYNC_KUSTOMIZE:-$CACHE/kaito-sync/tools/kustomize-v$KUSTOMIZE_VERSION/kustomize}

check_api() {
  local have
  have=$(sed -n 's#^\s*sigs\.k8s\.io/kustomize/api \(v[^ ]*\).*#\1#p' go.mod)
  if [ -n "$have" ] && [ "$have" != "$API_VERSION" ]; then
    echo "go.mod uses sigs.k8s.io/kustomize/api $have but this script builds kustomize v$KUSTOMIZE_VERSION (api $API_VERSION):" >&2
    echo "update KUSTOMIZE_VERSION and API_VERSION together" >&2
    exit 1
  fi
}

build() {
  check_api
  if [ -x "$BIN" ]; then echo "cached: $BIN" >&2; echo "$BIN"; return; fi
  mkdir -p "$(dirname "$BIN")"
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  # Outside this module, so its go.mod does not take part; a plain go install from the proxy.
  (cd "$tmp" && GOTOOLCHAIN=local GOFLAGS= CGO_ENABLED=0 GOBIN="$tmp" \
    go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kustomize/kustomize/v5@v$KUSTOMIZE_VERSION")
  # The binary must really be built on the api kaito-sync uses, or the comparison proves nothing.
  if ! go version -m "$tmp/kustomize" | grep -q "sigs.k8s.io/kustomize/api[[:space:]]*$API_VERSION"; then
    echo "kustomize v$KUSTOMIZE_VERSION is not built on sigs.k8s.io/kustomize/api $API_VERSION:" >&2
    go version -m "$tmp/kustomize" | grep kustomize/ >&2
    exit 1
  fi
  mv "$tmp/kustomize" "$BIN"
  echo "$BIN"
}

case "${1:-build}" in
  build) build ;;
  path) echo "$BIN" ;;
  *) echo "usage: $0 build|path" >&2; exit 2 ;;
esac
