#!/usr/bin/env bash
# test.sh — the project's test command: unit and end-to-end tests against a real control plane.
#
#   hack/test.sh
#
# 1. builds (or reuses from the cache) the control-plane binaries with hack/testbin.sh and the
#    kustomize CLI with hack/kustomize.sh (cold: minutes, then cached), and exports
#    KAITO_SYNC_TESTBIN and KAITO_SYNC_KUSTOMIZE;
# 2. gofmt, go vet, staticcheck, deadcode (both pinned, run with go run module@version);
# 3. go test -race ./... (unit + end-to-end, once, under the race detector; every package that needs
#    the control plane starts its own; the race detector needs cgo and a C compiler);
# 4. each fuzz target for FUZZ_TIME (decoder, validator, renderer, status file names).
# Every step runs even if an earlier one failed; the exit code is non-zero if any failed.
#
# Environment: TEST_TIMEOUT (default 20m), RACE=0 (run without the race detector), GO_TEST_FLAGS
# (extra go test flags, e.g. "-v" or "-run Smoke"), FUZZ_TIME (default 10s per target; 0 skips).
set -uo pipefail
cd "$(dirname "$0")/.."

TEST_TIMEOUT=${TEST_TIMEOUT:-20m}
GO_TEST_FLAGS=${GO_TEST_FLAGS:-}

failed=()
t_all=$SECONDS
section() { printf '\n==== %s ====\n' "$*"; }
step_done() { # name start-seconds rc
  if [ "$3" = 0 ]; then echo "---- $1: ok ($(($SECONDS - $2))s)"; else echo "---- $1: FAILED ($(($SECONDS - $2))s)"; failed+=("$1"); fi
}

section "control-plane binaries (hack/testbin.sh build)"
t=$SECONDS
if bin=$(hack/testbin.sh build | tail -n 1) && [ -n "$bin" ]; then
  export KAITO_SYNC_TESTBIN=$bin
  echo "KAITO_SYNC_TESTBIN=$bin"
  step_done testbin "$t" 0
else
  step_done testbin "$t" 1
  echo "cannot build the control-plane binaries; the end-to-end tests will skip (or fail under CI=true)" >&2
fi

section "kustomize CLI (hack/kustomize.sh build)"
t=$SECONDS
if kbin=$(hack/kustomize.sh build | tail -n 1) && [ -n "$kbin" ]; then
  export KAITO_SYNC_KUSTOMIZE=$kbin
  echo "KAITO_SYNC_KUSTOMIZE=$kbin"
  step_done kustomize "$t" 0
else
  step_done kustomize "$t" 1
fi

section "gofmt"
t=$SECONDS
unformatted=$(find . -name '*.go' -not -path './.git/*' -not -path './vendor/*' -print0 | xargs -0 -r gofmt -l)
if [ -n "$unformatted" ]; then
  echo "gofmt would change these files (run gofmt -w):"
  echo "$unformatted"
  step_done gofmt "$t" 1
else
  step_done gofmt "$t" 0
fi

section "go vet ./..."
t=$SECONDS
go vet ./...
step_done vet "$t" $?

# staticcheck finds bugs vet does not (self-comparisons, unused values); deadcode finds functions
# nothing reaches, tests included. Both are pinned here, run from the module proxy: no tools
# go.mod to keep in step, and the version is what every machine runs.
section "staticcheck ${STATICCHECK_VERSION:=v0.8.2}"
t=$SECONDS
go run "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION" ./...
step_done staticcheck "$t" $?

section "deadcode -test ${DEADCODE_VERSION:=v0.52.0}"
t=$SECONDS
dead=$(go run "golang.org/x/tools/cmd/deadcode@$DEADCODE_VERSION" -test ./...)  # findings on stdout; downloads on stderr
dead_rc=$?
if [ -n "$dead" ]; then
  echo "$dead"
  dead_rc=1
fi
step_done deadcode "$t" $dead_rc

# One run of every test, under the race detector: the sync loop, the applier, the renderer's cache
# and the provisioners are concurrent, and a second, race-free run of the same end-to-end tests would
# double the time for nothing. RACE=0 runs without it (faster locally).
race=-race
if [ "${RACE:-1}" = 0 ]; then
  race=""
elif [ "$(go env CGO_ENABLED)" != 1 ] || ! command -v "$(go env CC)" >/dev/null 2>&1; then
  echo "the race detector needs cgo and a C compiler ($(go env CC)); install gcc" >&2
  if [ "${CI:-}" = true ]; then failed+=("race-toolchain"); fi
  race=""
fi
section "go test $race ./... (unit + end-to-end)"
t=$SECONDS
# shellcheck disable=SC2086
go test $race -count=1 -timeout "$TEST_TIMEOUT" $GO_TEST_FLAGS ./...
step_done test "$t" $?

# Fuzzing, briefly, on every run: each target starts from its seed corpus committed under
# <package>/testdata/fuzz/<target> plus what earlier runs found (Go keeps that in its build cache,
# so a CI cache of ~/.cache/go-build keeps the corpus growing). An input that fails is written to
# testdata/fuzz/<target>/ and printed: commit it with the fix, and every go test runs it after.
# Minimizing an input is capped at 5s (default 60s) so a finding cannot stall the run.
FUZZ_TIME=${FUZZ_TIME:-10s}
if [ "$FUZZ_TIME" != 0 ]; then
  section "fuzz ($FUZZ_TIME per target)"
  t=$SECONDS
  fuzz_rc=0
  # package:target — the decoder (with every validation rule), the validator on its own (fields
  # set past the decoder), the renderer (on what the validator accepts), status file names.
  for target in workspaces:FuzzLoadAndCheck workspaces:FuzzValidate workspaces:FuzzRender status/branch:FuzzWorkspaceFile; do
    echo "-- ${target#*:} (./${target%%:*})"
    # Go's fuzzing coordinator can miss its own deadline on a loaded machine ("context deadline
    # exceeded", no failing input written: seen in CI on a pure string function); such a run says
    # nothing about the code, so it is run once more. A real finding writes its input and fails.
    for attempt in 1 2; do
      log=$(mktemp)
      if go test -run '^$' -fuzz "^${target#*:}\$" -fuzztime "$FUZZ_TIME" -fuzzminimizetime 5s "./${target%%:*}" 2>&1 | tee "$log"; test "${PIPESTATUS[0]}" = 0; then
        rm -f "$log"
        break
      fi
      if [ "$attempt" = 1 ] && grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written' "$log"; then
        echo "-- ${target#*:}: the fuzzing coordinator missed its deadline (no failing input): once more"
        rm -f "$log"
        continue
      fi
      rm -f "$log"
      fuzz_rc=1
      break
    done
  done
  step_done fuzz "$t" $fuzz_rc
fi

section "summary ($((SECONDS - t_all))s)"
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all ok"
