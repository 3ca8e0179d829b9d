// Package faults proves kaito-sync survives what breaks in production — its Git server down, slow,
// failing or rewritten, the kube-apiserver killed in the middle of an apply, kaito-sync itself
// killed with SIGKILL — and refuses hostile input, each time converging once the fault clears,
// with nothing deleted that Git still declares. RELIABILITY.md lists every case and its test.
package faults

import (
	"os"
	"testing"

	"github.com/kaito-sync/kaito-sync/test/e2e/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Main(m, &env)) }
