// Package status computes what each workspace is doing, the way Kaito's Workspace status would say
// it, from what kaito-sync knows after a sync (problems, renders, applies, node provisioning) and
// what the cluster shows (object health by kstatus, pods, nodes, the Service).
//
// Kaito users read conditions (ResourceReady, InferenceReady or JobStarted/JobSucceeded,
// WorkspaceReady, a.k.a. WorkspaceSucceeded); kaito-sync has no Workspace object in the cluster to
// hold them, so a Reporter keeps them in memory, recomputes them when the cluster changes, and
// hands them to a Writer (package status/branch) that publishes them on a Git branch.
package status
