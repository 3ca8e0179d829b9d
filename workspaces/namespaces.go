package workspaces

import (
	"fmt"
	"slices"
	"strings"
)

// ProtectedNamespaces hold the cluster's own components: a workspace file must not be able to put
// a workload there by naming one, whoever applies the result (kaito-sync, Flux or Argo CD).
var ProtectedNamespaces = []string{"kube-system", "kube-public", "kube-node-lease"}

// NamespacePolicy is where objects may go: the namespaces listed in Allowed only, or, when it is
// empty, any but the protected ones. It is the one rule for every target, and for validate and
// plan, so a file refused by a sync is refused by the review before it.
type NamespacePolicy struct {
	Allowed []string
}

// Check returns why ns is refused, or nil; "" (a cluster-scoped object) is always allowed.
func (p NamespacePolicy) Check(ns string) error {
	switch {
	case ns == "":
		return nil
	case len(p.Allowed) > 0 && !slices.Contains(p.Allowed, ns):
		return fmt.Errorf("namespace %s is not in --namespaces (%s)", ns, strings.Join(p.Allowed, ", "))
	case len(p.Allowed) == 0 && slices.Contains(ProtectedNamespaces, ns):
		return fmt.Errorf("namespace %s is protected; list it in --namespaces to allow it", ns)
	}
	return nil
}

// checkNamespaces turns the policy into problems on the files that name a refused namespace.
func checkNamespaces(s *Set, p NamespacePolicy) {
	for _, ws := range s.Workspaces {
		if err := p.Check(ws.Metadata.Namespace); err != nil {
			at := ws.Locate("metadata.namespace")
			s.Problems = append(s.Problems, Problem{Severity: Error, Path: at.Path, Line: at.Line, Col: at.Col,
				Workspace: ws.Key(), Field: "metadata.namespace", Message: err.Error()})
		}
	}
	for _, c := range s.Companions {
		if err := p.Check(c.Namespace); err != nil {
			s.Problems = append(s.Problems, companionProblem(c, Error, "metadata.namespace", "%v", err))
		}
	}
}
