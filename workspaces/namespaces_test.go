package workspaces

import (
	"strings"
	"testing"

	"github.com/matryer/is"
)

func TestNamespacePolicy(t *testing.T) {
	for _, tc := range []struct {
		allowed []string
		ns      string
		want    string
	}{
		{nil, "team-a", ""},
		{nil, "", ""},
		{nil, "kube-system", "namespace kube-system is protected; list it in --namespaces to allow it"},
		{nil, "kube-public", "protected"},
		{nil, "kube-node-lease", "protected"},
		{[]string{"kube-system"}, "kube-system", ""},
		{[]string{"team-a"}, "team-b", "namespace team-b is not in --namespaces (team-a)"},
		{[]string{"team-a"}, "kube-system", "not in --namespaces"},
	} {
		t.Run(strings.Join(tc.allowed, ",")+"/"+tc.ns, func(t *testing.T) {
			is := is.New(t)
			err := NamespacePolicy{Allowed: tc.allowed}.Check(tc.ns)
			if tc.want == "" {
				is.NoErr(err)
				return
			}
			is.True(err != nil && strings.Contains(err.Error(), tc.want))
		})
	}
}
