package rbac

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// manifests are the objects deploy/ renders (as `kubectl apply -k deploy/` would send them).
type manifests struct {
	Namespace          corev1.Namespace
	ServiceAccount     corev1.ServiceAccount
	ClusterRole        rbacv1.ClusterRole
	ClusterRoleBinding rbacv1.ClusterRoleBinding
	Role               rbacv1.Role
	RoleBinding        rbacv1.RoleBinding
	Deployment         appsv1.Deployment
	Config             corev1.ConfigMap
	Services           map[string]corev1.Service
}

// deployed renders deploy/ once per test binary: every test reads the same files.
var deployed = sync.OnceValues(func() (*manifests, error) {
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "..", "deploy")
	rm, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build deploy/: %w", err)
	}
	m := &manifests{Services: map[string]corev1.Service{}}
	for _, r := range rm.Resources() {
		b, err := r.AsYAML()
		if err != nil {
			return nil, err
		}
		var into any
		switch r.GetKind() {
		case "Namespace":
			into = &m.Namespace
		case "ServiceAccount":
			into = &m.ServiceAccount
		case "ClusterRole":
			into = &m.ClusterRole
		case "ClusterRoleBinding":
			into = &m.ClusterRoleBinding
		case "Role":
			into = &m.Role
		case "RoleBinding":
			into = &m.RoleBinding
		case "Deployment":
			into = &m.Deployment
		case "ConfigMap":
			into = &m.Config
		case "Service":
			var s corev1.Service
			if err := yaml.UnmarshalStrict(b, &s); err != nil {
				return nil, err
			}
			m.Services[s.Name] = s
			continue
		default:
			return nil, fmt.Errorf("deploy/ renders a %s this test does not know", r.GetKind())
		}
		if err := yaml.UnmarshalStrict(b, into); err != nil {
			return nil, fmt.Errorf("%s %s: %w", r.GetKind(), r.GetName(), err)
		}
	}
	return m, nil
})

func loadDeploy(t testing.TB) *manifests {
	t.Helper()
	m, err := deployed()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// identity is a ServiceAccount in kaito-sync's namespace with roles bound, and a kubeconfig that
// authenticates as it with a token from the TokenRequest API, as a Pod's projected token would.
type identity struct {
	name       string
	user       string // system:serviceaccount:NS:NAME
	kubeconfig string
	client     kubernetes.Interface
}

var (
	gvrNamespaces          = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	gvrServiceAccounts     = schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}
	gvrClusterRoles        = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"}
	gvrClusterRoleBindings = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"}
	gvrRoles               = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"}
	gvrRoleBindings        = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"}
)

var dynamicClient = sync.OnceValues(func() (dynamic.Interface, error) { return dynamic.NewForConfig(env.Config) })

// apply server-side-applies a typed object as the admin: creating or updating, so a rerun
// (-count) finds what it expects whatever the previous run left.
func apply(t testing.TB, gvr schema.GroupVersionResource, obj kruntime.Object) {
	t.Helper()
	d, err := dynamicClient()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := kruntime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: raw}
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	_, err = d.Resource(gvr).Namespace(u.GetNamespace()).Apply(context.Background(), u.GetName(), u,
		metav1.ApplyOptions{FieldManager: "e2e-rbac", Force: true})
	if err != nil {
		t.Fatalf("apply %s %s: %v", u.GetKind(), u.GetName(), err)
	}
}

// grant installs deploy/'s ServiceAccount, ClusterRole, Role and bindings for the ServiceAccount
// name, with these rules: deploy/'s own objects unchanged when name is deploy/'s ServiceAccount
// and the rules are deploy/'s, else copies named after name. It waits until the API server
// authorizes with them, and removes them when the test ends.
func grant(t *testing.T, m *manifests, name string, clusterRules, roleRules []rbacv1.PolicyRule) *identity {
	t.Helper()
	apply(t, gvrNamespaces, &m.Namespace) // deploy/'s, with its Pod Security label
	ns := m.ServiceAccount.Namespace
	suffix := ""
	if name != m.ServiceAccount.Name {
		suffix = "-" + name
	}
	sa := m.ServiceAccount.DeepCopy()
	sa.Name = name
	cr := m.ClusterRole.DeepCopy()
	cr.Name += suffix
	cr.Rules = clusterRules
	crb := m.ClusterRoleBinding.DeepCopy()
	crb.Name += suffix
	crb.RoleRef.Name = cr.Name
	crb.Subjects = []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: ns}}
	role := m.Role.DeepCopy()
	role.Name += suffix
	role.Rules = roleRules
	rb := m.RoleBinding.DeepCopy()
	rb.Name += suffix
	rb.RoleRef.Name = role.Name
	rb.Subjects = crb.Subjects

	apply(t, gvrServiceAccounts, sa)
	apply(t, gvrClusterRoles, cr)
	apply(t, gvrClusterRoleBindings, crb)
	apply(t, gvrRoles, role)
	apply(t, gvrRoleBindings, rb)
	t.Cleanup(func() {
		ctx := context.Background()
		d, _ := dynamicClient() // apply above made it
		// Cluster-scoped grants must not outlive the test; the namespaced ones go with them.
		_ = d.Resource(gvrClusterRoleBindings).Delete(ctx, crb.Name, metav1.DeleteOptions{})
		_ = d.Resource(gvrClusterRoles).Delete(ctx, cr.Name, metav1.DeleteOptions{})
		_ = d.Resource(gvrRoleBindings).Namespace(ns).Delete(ctx, rb.Name, metav1.DeleteOptions{})
		_ = d.Resource(gvrRoles).Namespace(ns).Delete(ctx, role.Name, metav1.DeleteOptions{})
		_ = d.Resource(gvrServiceAccounts).Namespace(ns).Delete(ctx, name, metav1.DeleteOptions{})
	})

	id := &identity{name: name, user: "system:serviceaccount:" + ns + ":" + name}
	// The authorizer reads roles and bindings from its own watch: wait until it has both, so a
	// refusal later is the rules' doing, not a cache a few milliseconds behind.
	if len(clusterRules) > 0 {
		waitAuthorized(t, id.user, "", clusterRules[0])
	}
	if len(roleRules) > 0 {
		waitAuthorized(t, id.user, ns, roleRules[0])
	}
	id.kubeconfig, id.client = tokenKubeconfig(t, ns, name)
	return id
}

// waitAuthorized waits until a SubjectAccessReview allows user the first verb of rule.
func waitAuthorized(t *testing.T, user, ns string, rule rbacv1.PolicyRule) {
	t.Helper()
	ra := &authorizationv1.ResourceAttributes{Namespace: ns, Verb: rule.Verbs[0], Group: rule.APIGroups[0], Resource: rule.Resources[0]}
	if len(rule.ResourceNames) > 0 {
		ra.Name = rule.ResourceNames[0]
	}
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: user, ResourceAttributes: ra}}
	err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
		got, err := env.Client.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
		if err != nil {
			return false, err
		}
		return got.Status.Allowed, nil
	})
	if err != nil {
		t.Fatalf("%s never allowed to %s %s: %v", user, ra.Verb, ra.Resource, err)
	}
}

// tokenKubeconfig asks the TokenRequest API for a token of the ServiceAccount and writes a
// kubeconfig that uses it, beside a client built from that kubeconfig.
func tokenKubeconfig(t *testing.T, ns, name string) (string, kubernetes.Interface) {
	t.Helper()
	tr, err := env.Client.CoreV1().ServiceAccounts(ns).CreateToken(context.Background(), name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token for %s/%s: %v", ns, name, err)
	}
	kc := clientcmdapi.NewConfig()
	kc.Clusters["e2e"] = &clientcmdapi.Cluster{Server: env.Config.Host, CertificateAuthority: env.Config.CAFile, CertificateAuthorityData: env.Config.CAData}
	kc.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	kc.Contexts["e2e"] = &clientcmdapi.Context{Cluster: "e2e", AuthInfo: name}
	kc.CurrentContext = "e2e"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return path, client
}

// writeFile writes a credential file the way a Secret volume would hold it.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o400); err != nil {
		t.Fatal(err)
	}
	return p
}
