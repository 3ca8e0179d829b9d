// Package ownership names the labels and annotations that mark kaito-sync's objects: which
// workspace and sync root an object belongs to, and what was applied. Render writes them, apply
// selects and compares on them, status finds workloads and pods by them; one definition keeps the
// three in step.
package ownership

const (
	// FieldManager is kaito-sync's server-side apply field manager.
	FieldManager = "kaito-sync"

	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "kaito-sync"
	// LabelWorkspace and LabelWorkspaceNamespace name the workspace of an object and of its pods
	// (Kaito's own labels, which its pods' selectors use).
	LabelWorkspace          = "kaito.sh/workspace"
	LabelWorkspaceNamespace = "kaito.sh/workspacenamespace"
	// LabelSyncRoot tells apart objects of different kaito-sync instances (repository, branch,
	// path). It is on applied objects only, not on pods. Objects without both it and the
	// managed-by label are never touched by prune or drift repair.
	LabelSyncRoot = "kaito.sh/sync-root"

	// AnnotationHash is the hash of the desired object last applied; equal hashes mean no write.
	AnnotationHash = "kaito.sh/applied-hash"
	// AnnotationRecreateKey fingerprints what cannot change in place (a selector, Kaito's
	// immutable workspace fields); a different key means delete and create.
	AnnotationRecreateKey = "kaito.sh/recreate-key"
	// AnnotationSourcePath and AnnotationSourceCommit say where an object was declared. They are set
	// on the objects' metadata only, never on pod templates, so a new commit restarts no pod.
	AnnotationSourcePath   = "kaito-sync/source-path"
	AnnotationSourceCommit = "kaito-sync/source-commit"
	// AnnotationConfigHash on a pod template is a hash of the inference config it reads, so a
	// changed ConfigMap rolls the pods.
	AnnotationConfigHash = "kaito-sync/config-hash"
)

// VolatileAnnotations change with every commit but say nothing about the object: hashes and
// hydrated files leave them out, so a commit that does not touch a workspace changes none of its
// objects.
var VolatileAnnotations = []string{AnnotationSourceCommit}
