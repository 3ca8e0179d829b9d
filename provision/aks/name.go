package aks

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
)

// Tags mark a pool as kaito-sync's and name its workspace. Azure tag keys may not hold '/', so
// these are not the Kubernetes label keys; the values are free text.
const (
	TagManagedBy = "managed-by"
	TagWorkspace = "kaito-sync-workspace"
	// TagRoot names the kaito-sync instance (its sync root: repository, branch, path).
	TagRoot   = "kaito-sync-root"
	ManagedBy = "kaito-sync"
)

// poolNameRE is what AKS accepts for a Linux user pool name.
var poolNameRE = regexp.MustCompile(`^[a-z][a-z0-9]{0,11}$`)

// PoolName is the agent pool for a workspace ("namespace/name"). It is a pure function of the key,
// so a restarted kaito-sync finds the pool it created instead of creating a second one: "ws" and
// 10 hex digits of the key's SHA-256 (40 bits: a collision among a cluster's pools is
// improbable, and a pool we did not tag is never adopted anyway).
func PoolName(workspace string) string {
	sum := sha256.Sum256([]byte(workspace))
	return "ws" + hex.EncodeToString(sum[:])[:10]
}

// ValidPoolName reports whether AKS accepts name for a Linux user pool.
func ValidPoolName(name string) bool { return poolNameRE.MatchString(name) }
