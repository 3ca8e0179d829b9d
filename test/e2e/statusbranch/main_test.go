// Package statusbranch proves the status branch end to end: a loopback Git server, a real control
// plane with kwok GPU nodes, kaito-sync's reconciler, and the Reporter writing the branch as the
// cluster changes.
package statusbranch

import (
	"os"
	"testing"

	"github.com/kaito-sync/kaito-sync/test/e2e/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Main(m, &env)) }
