package rbac

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"

	"github.com/kaito-sync/kaito-sync/test/e2e/fixtures"
	"github.com/kaito-sync/kaito-sync/test/e2e/gitserver"
	"github.com/kaito-sync/kaito-sync/test/e2e/testenv"
)

// gpuNode is the node every fixture workspace selects (apps: phi-3), and the one PreferredNodes
// names.
var gpuNode = testenv.GPUNode{Name: "gpu-rbac", InstanceType: "Standard_NC6s_v3", GPUs: 1,
	Labels: map[string]string{"apps": "phi-3"}, SKUTaint: true}

// newGit starts a Git server whose user is kaito-sync's default with a token ("git"): deploy/
// passes only --git-password-file.
func newGit(t *testing.T) *gitserver.Server {
	return gitserver.New(t, gitserver.Options{User: "git"})
}

// fleet is one repository of fixture workspaces in two namespaces: one that exists, as a team's
// namespace would, and one that does not yet, which kaito-sync creates. Between them a sync uses
// every right it has: objects new to an existing namespace are looked up by name first (get);
// those of a namespace it creates are not.
type fleet struct {
	git    *gitserver.Server
	repo   string
	ns     string // exists before the sync
	newNS  string // created by the sync
	branch string
	path   string
}

// fleetFiles are the fixture files, in the folder deploy/'s config names, and whether their
// namespace is the new one. Between them the workspaces make every kind the applier writes except
// Secrets (opt-in) and Deployments (never rendered).
var fleetFiles = map[string]struct {
	doc   string
	newNS bool
}{
	"phi-3.yaml":           {fixtures.Phi3Mini, false},
	"tuning.yaml":          {fixtures.TuningVolume, false},
	"preferred-nodes.yaml": {fixtures.PreferredNodes, true},
}

func newFleet(t *testing.T, git *gitserver.Server, m *manifests, name string, more map[string]string) *fleet {
	t.Helper()
	suffix := "-" + rand.String(5)
	f := &fleet{git: git, repo: name, ns: "rbac-" + name + suffix, newNS: "rbac-new-" + name + suffix,
		branch: m.Config.Data["KAITO_SYNC_BRANCH"], path: m.Config.Data["KAITO_SYNC_PATH"]}
	if _, err := git.CreateRepo(name); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for name, ff := range fleetFiles {
		ns := f.ns
		if ff.newNS {
			ns = f.newNS
		}
		files[f.path+"/"+name] = strings.NewReplacer("NAMESPACE", ns, "NODE", gpuNode.Name).Replace(ff.doc)
	}
	for name, doc := range more {
		files[f.path+"/"+name] = strings.ReplaceAll(doc, "NAMESPACE", f.ns)
	}
	if _, err := git.Commit(name, f.branch, files, "fixtures"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := env.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: f.ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, ns := range []string{f.ns, f.newNS} {
			err := env.Client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				t.Logf("delete namespace %s: %v", ns, err)
			}
		}
	})
	return f
}

// remove commits the removal of fixture files.
func (f *fleet) remove(t *testing.T, files ...string) {
	t.Helper()
	var paths []string
	for _, name := range files {
		paths = append(paths, f.path+"/"+name)
	}
	if _, err := f.git.DeleteFiles(f.repo, f.branch, "remove workspaces", paths...); err != nil {
		t.Fatal(err)
	}
}

// runOptions say how a kaito-sync process differs from deploy/'s Pod.
type runOptions struct {
	once  bool   // sync --once: the leader election flags are dropped (they are refused with it)
	lease string // --leader-election-id, when not deploy/'s
	pod   string // POD_NAME; default the identity's name (a Pod that need not exist)
	extra []string
	env   []string // more environment
}

const webhookSecret = "e2e-webhook-secret"

// run starts kaito-sync as deploy/'s Pod runs it, against this fleet, authenticated as id.
func (f *fleet) run(t *testing.T, m *manifests, id *identity, o runOptions) *proc {
	t.Helper()
	vars := maps.Clone(m.Config.Data)
	vars["KAITO_SYNC_REPO"] = f.git.RepoURL(f.repo)
	vars["POD_NAMESPACE"] = m.Namespace.Name
	set := map[string]string{
		"--git-password-file":   writeFile(t, "token", f.git.Password),
		"--webhook-secret-file": writeFile(t, "secret", webhookSecret),
		// Loopback and a free port: tests run side by side.
		"--metrics-addr": "127.0.0.1:0",
		"--webhook-addr": "127.0.0.1:0",
	}
	if o.lease != "" {
		set["--leader-election-id"] = o.lease
	}
	var drop []string
	extra := o.extra
	if o.once {
		drop = []string{"--leader-elect", "--leader-election-namespace", "--leader-election-id"}
		extra = append([]string{"--once"}, extra...)
	}
	pod := o.pod
	if pod == "" {
		pod = id.name
	}
	args := m.podArgs(vars, set, drop, extra...)
	return startSync(t, id, args, append([]string{"POD_NAME=" + pod, "POD_NAMESPACE=" + m.Namespace.Name}, o.env...)...)
}

// admin is the control plane's admin, for syncs that set the stage for a test.
func admin() *identity {
	return &identity{name: "admin", kubeconfig: env.Kubeconfig, client: env.Client}
}

// createPod creates a Pod from deploy/'s Pod template, standing in for a replica whose label the
// leader sets. The namespace enforces the restricted Pod Security Standard, so this also proves
// the template meets it.
func createPod(t *testing.T, m *manifests, name string) *corev1.Pod {
	t.Helper()
	tmpl := m.Deployment.Spec.Template
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: m.Namespace.Name, Labels: maps.Clone(tmpl.Labels)},
		Spec:       *tmpl.Spec.DeepCopy(),
	}
	pods := env.Client.CoreV1().Pods(pod.Namespace)
	ctx := context.Background()
	_ = pods.Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}) // a previous run's (-count)
	var created *corev1.Pod
	err := waitUntil(10*time.Second, func() (bool, error) {
		var err error
		created, err = pods.Create(ctx, pod, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return false, nil // still being deleted
		}
		return err == nil, err
	})
	if err != nil {
		t.Fatalf("create pod from deploy/'s template: %v", err)
	}
	t.Cleanup(func() {
		_ = pods.Delete(context.Background(), name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})
	})
	return created
}

// listenAddr reads the address a server of the process listens on from its log.
func listenAddr(t *testing.T, p *proc, what string) string {
	t.Helper()
	re := regexp.MustCompile(`"msg":"` + what + ` listening","addr":"([^"]+)"`)
	p.waitFor(30*time.Second, what+" listening", func(out string, _ bool) bool { return re.MatchString(out) })
	return re.FindStringSubmatch(p.output())[1]
}

// refusal is how the API server words a refused verb: `cannot VERB resource "RESOURCE"`.
func refusal(verb, resource string) string {
	return fmt.Sprintf("cannot %s resource %q", verb, resource)
}
