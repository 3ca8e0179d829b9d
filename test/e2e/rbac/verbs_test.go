package rbac

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
)

// verbCase is deploy/'s rights with one verb on one resource taken away.
type verbCase struct {
	name          string // Role/RESOURCE/VERB
	id            string // its ServiceAccount, Lease and repository
	resource      string
	verb          string
	cluster, role []rbacv1.PolicyRule
}

// without returns rules with verb on resource removed from rule i, splitting the rule when it
// names other resources or verbs.
func without(rules []rbacv1.PolicyRule, i int, resource, verb string) []rbacv1.PolicyRule {
	var out []rbacv1.PolicyRule
	for j, r := range rules {
		if j != i {
			out = append(out, *r.DeepCopy())
			continue
		}
		if others := slices.DeleteFunc(slices.Clone(r.Resources), func(s string) bool { return s == resource }); len(others) > 0 {
			c := *r.DeepCopy()
			c.Resources = others
			out = append(out, c)
		}
		if verbs := slices.DeleteFunc(slices.Clone(r.Verbs), func(s string) bool { return s == verb }); len(verbs) > 0 {
			c := *r.DeepCopy()
			c.Resources, c.Verbs = []string{resource}, verbs
			out = append(out, c)
		}
	}
	return out
}

// leaseRules are role rules for a Lease named lease instead of deploy/'s: each case elects on a
// Lease of its own, so cases run side by side.
func leaseRules(rules []rbacv1.PolicyRule, deployed, lease string) []rbacv1.PolicyRule {
	out := make([]rbacv1.PolicyRule, len(rules))
	for i, r := range rules {
		out[i] = *r.DeepCopy()
		for j, n := range out[i].ResourceNames {
			if n == deployed {
				out[i].ResourceNames[j] = lease
			}
		}
	}
	return out
}

func verbCases(m *manifests) []verbCase {
	lease := argValue(m, "--leader-election-id")
	var cases []verbCase
	add := func(kind string, rules []rbacv1.PolicyRule, cut func(i int, res, verb string) (cluster, role []rbacv1.PolicyRule)) {
		for i, r := range rules {
			for _, res := range r.Resources {
				for _, verb := range r.Verbs {
					id := strings.ToLower(kind[:1]) + "-" + res + "-" + verb
					c := verbCase{name: kind + "/" + res + "/" + verb, id: id, resource: res, verb: verb}
					c.cluster, c.role = cut(i, res, verb)
					c.role = leaseRules(c.role, lease, id)
					cases = append(cases, c)
				}
			}
		}
	}
	add("ClusterRole", m.ClusterRole.Rules, func(i int, res, verb string) ([]rbacv1.PolicyRule, []rbacv1.PolicyRule) {
		return without(m.ClusterRole.Rules, i, res, verb), m.Role.Rules
	})
	add("Role", m.Role.Rules, func(i int, res, verb string) ([]rbacv1.PolicyRule, []rbacv1.PolicyRule) {
		return m.ClusterRole.Rules, without(m.Role.Rules, i, res, verb)
	})
	return cases
}

// Every verb of every rule deploy/ grants is needed: with it taken away, the long-running sync
// (the Deployment's args, leader election included) asks for it and is refused. A refusal is
// what kaito-sync meets whatever it was doing (applying, watching, electing, labelling); the
// sufficiency tests above show that with the verb nothing is refused.
func TestEveryVerbIsNeeded(t *testing.T) {
	m := loadDeploy(t)
	env.AddReadyGPUNode(t, gpuNode)
	git := newGit(t)
	cases := verbCases(m)
	start := time.Now()
	t.Cleanup(func() {
		t.Logf("MEASURED: %d verbs proven needed in %v", len(cases), time.Since(start).Round(time.Millisecond))
	})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			// A Lease left held by a killed process of an earlier run (-count) would make this
			// one wait out its duration: every run elects on a Lease of its own.
			run := c.id + "-" + rand.String(4)
			id := grant(t, m, run, c.cluster, leaseRules(c.role, c.id, run))
			o := runOptions{lease: run}
			t.Cleanup(func() {
				_ = env.Client.CoordinationV1().Leases(m.Namespace.Name).Delete(context.Background(), run, metav1.DeleteOptions{})
			})
			f := newFleet(t, git, m, run, nil)
			if c.verb == "delete" {
				// Only a prune deletes: a sync with full rights makes the objects, then Git drops
				// the workspaces that hold every kind (two of three, hence --allow-mass-prune).
				setup := f.run(t, m, admin(), runOptions{once: true})
				if err := setup.wait(2 * time.Minute); err != nil {
					t.Fatalf("setup sync: %v\n%s", err, setup.output())
				}
				f.remove(t, "phi-3.yaml", "tuning.yaml")
				o.extra = []string{"--allow-mass-prune"}
			}
			if c.verb == "list" {
				// client-go streams a watch's initial list over the watch itself when the API
				// server can (WatchListClient, on by default since 1.35), and LISTs when it cannot:
				// older API servers, or a stream that fails. Turning streaming off is that case.
				o.env = []string{"KUBE_FEATURE_WatchListClient=false"}
			}
			p := f.run(t, m, id, o)
			p.waitOutput(time.Minute, refusal(c.verb, c.resource))
		})
	}
}

// Secrets are the one kind deploy/ leaves out. Without the rule, a sync with --allow-secrets
// applies everything else and fails the Secret, naming the rights; with the rule the README
// gives, it applies it. Either way nothing waits on a watch the API server refuses.
func TestSecretsNeedTheirOwnRule(t *testing.T) {
	is := is.New(t)
	m := loadDeploy(t)
	env.AddReadyGPUNode(t, gpuNode)
	f := newFleet(t, newGit(t), m, "secrets", map[string]string{"gated.yaml": gatedWithSecret})
	o := runOptions{once: true, extra: []string{"--allow-secrets"}}

	id := grant(t, m, "secrets", m.ClusterRole.Rules, m.Role.Rules)
	p := f.run(t, m, id, o)
	is.True(p.wait(2*time.Minute) != nil) // exit 1: the Secret failed
	out := p.output()
	is.True(strings.Contains(out, "kaito-sync may not read secrets"))
	is.True(!strings.Contains(out, refusal("watch", "secrets")))
	checkObjects(t, env.Client, f) // the other workspaces are applied

	secrets := rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"},
		Verbs: []string{"get", "list", "watch", "create", "patch", "delete"}}
	grant(t, m, "secrets", append([]rbacv1.PolicyRule{secrets}, m.ClusterRole.Rules...), m.Role.Rules)
	p = f.run(t, m, id, o)
	is.NoErr(p.wait(2 * time.Minute))
	clean(t, p)
	_, err := env.Client.CoreV1().Secrets(f.ns).Get(context.Background(), "hf-token", metav1.GetOptions{})
	is.NoErr(err)
}

// gatedWithSecret is a gated model with its token Secret beside it in Git (--allow-secrets).
const gatedWithSecret = `apiVersion: kaito.sh/v1beta1
kind: Workspace
metadata:
  name: llama-3-1-8b
  namespace: NAMESPACE
resource:
  instanceType: Standard_NC24ads_A100_v4
  labelSelector:
    matchLabels:
      apps: llama-3-1-8b
inference:
  preset:
    name: llama-3.1-8b-instruct
    presetOptions:
      modelAccessSecret: hf-token
---
apiVersion: v1
kind: Secret
metadata:
  name: hf-token
  namespace: NAMESPACE
stringData:
  HF_TOKEN: hf_not_a_real_token
`
