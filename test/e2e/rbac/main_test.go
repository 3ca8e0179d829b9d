// Package rbac proves deploy/'s RBAC end to end: the ServiceAccount, ClusterRole, Role and their
// bindings rendered from deploy/ are applied to a real control plane, and the real kaito-sync
// binary syncs with a token of that ServiceAccount — once, and as the long-running, leader-elected
// Deployment runs it. The rights are shown to be enough (the sync succeeds, drift is repaired, the
// status branch and the leader label are written) and no more than needed (each verb of each
// rule, taken away, makes what needs it fail; rights outside the roles are refused).
package rbac

import (
	"os"
	"testing"

	"github.com/kaito-sync/kaito-sync/test/e2e/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Main(m, &env)) }
