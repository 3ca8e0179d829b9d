package rbac

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/matryer/is"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kaito-sync/kaito-sync/status/branch"
	"github.com/kaito-sync/kaito-sync/sync/leader"
	"github.com/kaito-sync/kaito-sync/test/e2e/testenv"
)

func waitUntil(timeout time.Duration, cond func() (bool, error)) error {
	return wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, timeout, true,
		func(context.Context) (bool, error) { return cond() })
}

// checkObjects checks that every object the fixtures render is in the cluster, and the namespace
// kaito-sync created.
func checkObjects(t *testing.T, c kubernetes.Interface, f *fleet) {
	t.Helper()
	ctx := context.Background()
	found := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}
	ns, err := c.CoreV1().Namespaces().Get(ctx, f.newNS, metav1.GetOptions{})
	found("namespace "+f.newNS, err)
	if err == nil && ns.Labels["app.kubernetes.io/created-by"] != "kaito-sync" {
		t.Errorf("namespace %s: labels %v, not created by kaito-sync", f.newNS, ns.Labels)
	}
	for ns, name := range map[string]string{f.ns: "phi-3", f.newNS: "phi-3-5-mini"} {
		_, err := c.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
		found("StatefulSet "+name, err)
		_, err = c.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
		found("Service "+name, err)
	}
	_, err = c.BatchV1().Jobs(f.ns).Get(ctx, "tuning-phi-3-lora", metav1.GetOptions{})
	found("Job", err)
	_, err = c.CoreV1().ConfigMaps(f.ns).Get(ctx, "phi-3-lora-params", metav1.GetOptions{})
	found("ConfigMap", err)
	for _, name := range []string{"tuning-input", "tuning-output"} {
		_, err := c.CoreV1().PersistentVolumeClaims(f.ns).Get(ctx, name, metav1.GetOptions{})
		found("PersistentVolumeClaim "+name, err)
	}
}

// checkStatusBranch checks that the status branch holds the fleet's three workspaces.
func checkStatusBranch(t *testing.T, f *fleet) {
	t.Helper()
	files, _, err := f.git.ReadBranch(f.repo, branch.DefaultBranch)
	if err != nil {
		t.Fatalf("status branch: %v", err)
	}
	rep, err := branch.Decode(strings.NewReader(files[branch.StatusFile]))
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{f.ns + "/phi-3", f.newNS + "/phi-3-5-mini", f.ns + "/tuning-phi-3-lora"} {
		if rep.Workspace(key) == nil {
			t.Errorf("status branch: no status for %s", key)
		}
	}
}

// clean fails the test when the process met a refusal or logged an error.
func clean(t *testing.T, p *proc) {
	t.Helper()
	out := p.output()
	for _, bad := range []string{"forbidden", `"level":"ERROR"`} {
		if strings.Contains(out, bad) {
			t.Fatalf("kaito-sync's output holds %q:\n%s", bad, out)
		}
	}
}

// A one-off sync (a CronJob, CI) with deploy/'s rights: everything applied, statuses published.
func TestOnceWithDeployedRights(t *testing.T) {
	is := is.New(t)
	m := loadDeploy(t)
	env.AddReadyGPUNode(t, gpuNode)
	f := newFleet(t, newGit(t), m, "once", nil)
	id := grant(t, m, m.ServiceAccount.Name, m.ClusterRole.Rules, m.Role.Rules)

	if _, err := testenv.KaitoSyncBinary(); err != nil { // built once per package: not part of the time measured
		t.Fatal(err)
	}
	start := time.Now()
	p := f.run(t, m, id, runOptions{once: true})
	is.NoErr(p.wait(2 * time.Minute))
	t.Logf("MEASURED: sync --once as the ServiceAccount: %v", time.Since(start).Round(time.Millisecond))
	clean(t, p)
	checkObjects(t, env.Client, f)
	checkStatusBranch(t, f)
}

// The Deployment as deploy/ runs it: leader election, the leader's Pod label, probes and metrics,
// the status branch, drift repaired from the watch, a webhook-triggered prune, and a clean
// shutdown that hands the Lease and the label back, all with deploy/'s rights and no refusal.
func TestDeploymentWithDeployedRights(t *testing.T) {
	is := is.New(t)
	m := loadDeploy(t)
	env.AddReadyGPUNode(t, gpuNode)
	f := newFleet(t, newGit(t), m, "deployment", nil)
	id := grant(t, m, m.ServiceAccount.Name, m.ClusterRole.Rules, m.Role.Rules)
	pod := createPod(t, m, "kaito-sync-e2e")
	ctx := context.Background()

	p := f.run(t, m, id, runOptions{pod: pod.Name})
	p.waitOutput(2*time.Minute, `"msg":"synced"`)
	clean(t, p)
	checkObjects(t, env.Client, f)

	// The leader labelled its Pod, and the webhook Service now selects it (and only a leader).
	got, err := env.Client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
	is.NoErr(err)
	is.Equal(got.Labels[leader.PodLabel], "true")
	hook := m.Services["kaito-sync-webhook"]
	is.Equal(hook.Spec.Selector[leader.PodLabel], "true")
	for k, v := range hook.Spec.Selector {
		is.Equal(got.Labels[k], v) // the webhook Service selects the leader's Pod
	}
	lease, err := env.Client.CoordinationV1().Leases(m.Namespace.Name).Get(ctx, argValue(m, "--leader-election-id"), metav1.GetOptions{})
	is.NoErr(err)
	is.True(ptr.Deref(lease.Spec.HolderIdentity, "") != "")

	// Probes and metrics, where the Deployment's probes and the metrics Service look.
	base := "http://" + listenAddr(t, p, "metrics")
	for _, path := range []string{"/healthz", "/readyz"} {
		is.Equal(httpGet(t, base+path).StatusCode, http.StatusOK)
	}
	metrics, _ := io.ReadAll(httpGet(t, base+"/metrics").Body)
	is.True(strings.Contains(string(metrics), "kaito_sync_leader 1"))

	p.waitOutput(time.Minute, `"msg":"statuses published"`)
	checkStatusBranch(t, f)

	// Drift: someone scales a StatefulSet kaito-sync owns; the watch sees it and repair puts it back.
	sts := env.Client.AppsV1().StatefulSets(f.ns)
	before, err := sts.Get(ctx, "phi-3", metav1.GetOptions{})
	is.NoErr(err)
	want := ptr.Deref(before.Spec.Replicas, 1)
	_, err = sts.Patch(ctx, "phi-3", types.MergePatchType, []byte(`{"spec":{"replicas":5}}`), metav1.PatchOptions{FieldManager: "kubectl-edit"})
	is.NoErr(err)
	if err := waitUntil(time.Minute, func() (bool, error) {
		s, err := sts.Get(ctx, "phi-3", metav1.GetOptions{})
		return err == nil && ptr.Deref(s.Spec.Replicas, 1) == want, err
	}); err != nil {
		t.Fatalf("drift not repaired: %v\n%s", err, p.output())
	}
	p.waitOutput(10*time.Second, `"msg":"drift repaired"`)

	// A push webhook to the leader, after Git dropped the tuning workspace: the sync prunes its
	// Job, claims and ConfigMap (a third of the workspaces: no mass-prune guard).
	f.remove(t, "tuning.yaml")
	req, err := http.NewRequest(http.MethodPost, "http://"+listenAddr(t, p, "webhook")+"/hook",
		bytes.NewReader([]byte(`{"ref":"refs/heads/`+f.branch+`"}`)))
	is.NoErr(err)
	req.Header.Set("Authorization", "Bearer "+webhookSecret)
	res, err := http.DefaultClient.Do(req)
	is.NoErr(err)
	res.Body.Close()
	is.Equal(res.StatusCode, http.StatusAccepted)
	p.waitOutput(time.Minute, `"object":"Job/`+f.ns+`/tuning-phi-3-lora","action":"deleted"`)
	_, err = env.Client.BatchV1().Jobs(f.ns).Get(ctx, "tuning-phi-3-lora", metav1.GetOptions{})
	is.True(apierrors.IsNotFound(err))
	_, err = env.Client.CoreV1().ConfigMaps(f.ns).Get(ctx, "phi-3-lora-params", metav1.GetOptions{})
	is.True(apierrors.IsNotFound(err))

	// SIGTERM, as the kubelet sends: exit 0, the label and the Lease handed back.
	is.NoErr(p.stop(time.Minute))
	clean(t, p)
	got, err = env.Client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
	is.NoErr(err)
	_, labelled := got.Labels[leader.PodLabel]
	is.True(!labelled)
	lease, err = env.Client.CoordinationV1().Leases(m.Namespace.Name).Get(ctx, lease.Name, metav1.GetOptions{})
	is.NoErr(err)
	is.Equal(ptr.Deref(lease.Spec.HolderIdentity, ""), "")
}

func argValue(m *manifests, flag string) string {
	for _, a := range m.Deployment.Spec.Template.Spec.Containers[0].Args {
		if v, ok := strings.CutPrefix(a, flag+"="); ok {
			return v
		}
	}
	return ""
}

func httpGet(t *testing.T, url string) *http.Response {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

// Rights deploy/ does not grant are refused to its ServiceAccount by the API server.
func TestNothingMore(t *testing.T) {
	m := loadDeploy(t)
	id := grant(t, m, m.ServiceAccount.Name, m.ClusterRole.Rules, m.Role.Rules)
	c, ctx, own := id.client, context.Background(), m.Namespace.Name
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name} }
	tests := []struct {
		name string
		do   func() error
	}{
		{"create a ClusterRole (escalate)", func() error {
			_, err := c.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: meta("e2e-escalate"),
				Rules: []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}}}, metav1.CreateOptions{})
			return err
		}},
		{"bind a ClusterRole to itself", func() error {
			_, err := c.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: meta("e2e-escalate"),
				RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
				Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: id.name, Namespace: own}}}, metav1.CreateOptions{})
			return err
		}},
		{"list Secrets cluster-wide", func() error { _, err := c.CoreV1().Secrets("").List(ctx, metav1.ListOptions{}); return err }},
		{"read a Secret in its own namespace", func() error {
			_, err := c.CoreV1().Secrets(own).Get(ctx, "kaito-sync-git", metav1.GetOptions{})
			return err
		}},
		// Names that do not exist: authorization comes first, so a wrongly granted right shows as
		// NotFound instead of deleting what other tests use.
		{"delete a node", func() error { return c.CoreV1().Nodes().Delete(ctx, "e2e-not-there", metav1.DeleteOptions{}) }},
		{"label a node", func() error {
			_, err := c.CoreV1().Nodes().Patch(ctx, "e2e-not-there", types.MergePatchType, []byte(`{"metadata":{"labels":{"x":"y"}}}`), metav1.PatchOptions{})
			return err
		}},
		{"delete a namespace", func() error { return c.CoreV1().Namespaces().Delete(ctx, "e2e-not-there", metav1.DeleteOptions{}) }},
		{"create a Pod", func() error {
			_, err := c.CoreV1().Pods("default").Create(ctx, &corev1.Pod{ObjectMeta: meta("x"),
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "x", Image: "x"}}}}, metav1.CreateOptions{})
			return err
		}},
		{"exec into a Pod", func() error {
			return c.CoreV1().RESTClient().Post().Namespace(own).Resource("pods").Name("kaito-sync-e2e").SubResource("exec").Do(ctx).Error()
		}},
		{"write a Deployment", func() error {
			_, err := c.AppsV1().Deployments("default").Patch(ctx, "x", types.ApplyPatchType, []byte(`{"apiVersion":"apps/v1","kind":"Deployment"}`), metav1.PatchOptions{FieldManager: "x"})
			return err
		}},
		{"update a StatefulSet (only patch is granted)", func() error {
			_, err := c.AppsV1().StatefulSets("default").Update(ctx, &appsv1.StatefulSet{ObjectMeta: meta("x")}, metav1.UpdateOptions{})
			return err
		}},
		{"read Events", func() error { _, err := c.CoreV1().Events("").List(ctx, metav1.ListOptions{}); return err }},
		{"take a Lease in another namespace", func() error {
			_, err := c.CoordinationV1().Leases("kube-system").Get(ctx, "kube-controller-manager", metav1.GetOptions{})
			return err
		}},
		{"update another Lease in its namespace", func() error {
			return c.CoordinationV1().RESTClient().Put().Namespace(own).Resource("leases").Name("other").Body([]byte(`{}`)).Do(ctx).Error()
		}},
		{"label Pods outside its namespace", func() error {
			_, err := c.CoreV1().Pods("default").Patch(ctx, "x", types.MergePatchType, []byte(`{}`), metav1.PatchOptions{})
			return err
		}},
		{"read a Pod's logs", func() error {
			return c.CoreV1().Pods(own).GetLogs("kaito-sync-e2e", &corev1.PodLogOptions{}).Do(ctx).Error()
		}},
		{"mint tokens for ServiceAccounts", func() error {
			return c.CoreV1().RESTClient().Post().Namespace(own).Resource("serviceaccounts").Name(id.name).SubResource("token").Body([]byte(`{}`)).Do(ctx).Error()
		}},
		{"create a CustomResourceDefinition", func() error {
			return c.Discovery().RESTClient().Post().AbsPath("/apis/apiextensions.k8s.io/v1/customresourcedefinitions").Body([]byte(`{}`)).Do(ctx).Error()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if !apierrors.IsForbidden(err) {
				t.Errorf("want Forbidden, got %v", err)
			}
		})
	}
}
