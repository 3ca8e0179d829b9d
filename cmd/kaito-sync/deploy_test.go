package main

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/matryer/is"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/kaito-sync/kaito-sync/render/kustomizetest"
	"github.com/kaito-sync/kaito-sync/sync/leader"
)

// The variants users apply: `kubectl apply -k deploy/` and `kubectl apply -k deploy/aks`.
var deployVariants = []string{"../../deploy", "../../deploy/aks"}

// deployBuild is one variant built, decoded.
type deployBuild struct {
	yaml        []byte
	deployment  appsv1.Deployment
	sa          corev1.ServiceAccount
	config      corev1.ConfigMap
	clusterRole rbacv1.ClusterRole
	role        rbacv1.Role
	crb         rbacv1.ClusterRoleBinding
	rb          rbacv1.RoleBinding
	services    map[string]corev1.Service
	kinds       []string
}

func buildDeploy(t *testing.T, dir string) *deployBuild {
	t.Helper()
	opts := krusty.MakeDefaultOptions()
	opts.Reorder = krusty.ReorderOptionLegacy // as `kustomize build` and `kubectl apply -k` order them
	rm, err := krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	b := &deployBuild{services: map[string]corev1.Service{}}
	if b.yaml, err = rm.AsYaml(); err != nil {
		t.Fatal(err)
	}
	for _, r := range rm.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		b.kinds = append(b.kinds, r.GetKind())
		var into any
		switch r.GetKind() {
		case "Deployment":
			into = &b.deployment
		case "ServiceAccount":
			into = &b.sa
		case "ConfigMap":
			into = &b.config
		case "ClusterRole":
			into = &b.clusterRole
		case "Role":
			into = &b.role
		case "ClusterRoleBinding":
			into = &b.crb
		case "RoleBinding":
			into = &b.rb
		case "Service":
			var s corev1.Service
			if err := yaml.UnmarshalStrict(y, &s); err != nil {
				t.Fatal(err)
			}
			b.services[s.Name] = s
			continue
		default:
			continue
		}
		// Strict: a misspelt field in deploy/ is an error here, not a field the API server drops.
		if err := yaml.UnmarshalStrict(y, into); err != nil {
			t.Fatalf("%s %s: %v", r.GetKind(), r.GetName(), err)
		}
	}
	return b
}

func TestDeployManifests(t *testing.T) {
	for _, dir := range deployVariants {
		t.Run(dir, func(t *testing.T) {
			is := is.New(t)
			b := buildDeploy(t, dir)
			slices.Sort(b.kinds)
			is.Equal(b.kinds, []string{"ClusterRole", "ClusterRoleBinding", "ConfigMap", "Deployment", "Namespace",
				"Role", "RoleBinding", "Service", "Service", "ServiceAccount"}) // no Secret: users create those
			d := b.deployment
			is.Equal(d.Namespace, "kaito-sync")
			is.Equal(*d.Spec.Replicas, int32(2))
			pod := d.Spec.Template.Spec
			is.Equal(pod.ServiceAccountName, b.sa.Name)

			// Non-root, read-only, nothing it does not need.
			psc := pod.SecurityContext
			is.True(*psc.RunAsNonRoot)
			is.Equal(*psc.RunAsUser, int64(65532)) // distroless nonroot, as the Dockerfile's USER
			is.Equal(psc.SeccompProfile.Type, corev1.SeccompProfileTypeRuntimeDefault)
			is.Equal(len(pod.Containers), 1)
			c := pod.Containers[0]
			sc := c.SecurityContext
			is.True(*sc.ReadOnlyRootFilesystem)
			is.True(!*sc.AllowPrivilegeEscalation)
			is.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"})
			is.Equal(len(sc.Capabilities.Add), 0)
			is.True(strings.Contains(c.Image, "/")) // the images: transformer named a registry
			for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				req, lim := c.Resources.Requests[r], c.Resources.Limits[r]
				is.True(!req.IsZero() && !lim.IsZero())
			}
			mounts := map[string]string{}
			for _, m := range c.VolumeMounts {
				mounts[m.Name] = m.MountPath
			}
			is.Equal(mounts["tmp"], "/tmp") // the only writable place
			volumes := map[string]corev1.Volume{}
			for _, v := range pod.Volumes {
				volumes[v.Name] = v
			}
			is.True(volumes["tmp"].EmptyDir != nil)

			// Downward API: the leader labels its own Pod.
			env := map[string]string{}
			for _, e := range c.Env {
				if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
					env[e.Name] = e.ValueFrom.FieldRef.FieldPath
				}
			}
			is.Equal(env["POD_NAME"], "metadata.name")
			is.Equal(env["POD_NAMESPACE"], "metadata.namespace")
			is.Equal(len(c.EnvFrom), 1)
			is.Equal(c.EnvFrom[0].ConfigMapRef.Name, b.config.Name) // the generated name, hash and all

			// Args: every flag is one `kaito-sync sync` has, given once, and says what deploy/ means.
			is.Equal(c.Args[0], "sync")
			flags := checkSyncArgs(t, c.Args[1:])
			is.Equal(flags["--leader-elect"], "true")
			is.Equal(flags["--log-format"], "json")
			is.Equal(flags["--target"], "cluster")
			is.Equal(flags["--leader-election-namespace"], "$(POD_NAMESPACE)")
			checkVarsDefined(t, c.Args, b.config.Data, c.Env)

			// Probes and Services reach the ports the flags open.
			ports := map[string]int32{}
			for _, p := range c.Ports {
				ports[p.Name] = p.ContainerPort
			}
			is.Equal(flags["--metrics-addr"], fmt.Sprintf(":%d", ports["metrics"]))
			is.Equal(flags["--webhook-addr"], fmt.Sprintf(":%d", ports["webhook"]))
			is.Equal(ports["metrics"], int32(8080))
			is.Equal(ports["webhook"], int32(9292))
			is.Equal(c.LivenessProbe.HTTPGet.Path, "/healthz")
			is.Equal(c.LivenessProbe.HTTPGet.Port.String(), "metrics")
			is.Equal(c.StartupProbe.HTTPGet.Path, "/healthz")
			is.Equal(c.StartupProbe.HTTPGet.Port.String(), "metrics")
			is.Equal(c.ReadinessProbe.HTTPGet.Path, "/readyz")
			is.Equal(c.ReadinessProbe.HTTPGet.Port.String(), "metrics")
			labels := d.Spec.Template.Labels
			metrics, hook := b.services["kaito-sync-metrics"], b.services["kaito-sync-webhook"]
			is.Equal(metrics.Spec.Ports[0].TargetPort.String(), "metrics")
			is.Equal(hook.Spec.Ports[0].TargetPort.String(), "webhook")
			is.True(selects(metrics.Spec.Selector, labels))       // every replica
			is.True(!selects(hook.Spec.Selector, labels))         // not a follower...
			leading := map[string]string{leader.PodLabel: "true"} // ...only the Pod the leader labels
			for k, v := range labels {
				leading[k] = v
			}
			is.True(selects(hook.Spec.Selector, leading))

			// Credentials come from the Secrets the README has users create, as files.
			is.Equal(volumes["git-credentials"].Secret.SecretName, "kaito-sync-git")
			is.Equal(volumes["webhook-secret"].Secret.SecretName, "kaito-sync-webhook")
			is.Equal(*volumes["git-credentials"].Secret.DefaultMode, int32(0o440)) // fsGroup reads, nobody writes
			is.True(strings.HasPrefix(flags["--git-password-file"], mounts["git-credentials"]+"/"))
			is.True(strings.HasPrefix(flags["--webhook-secret-file"], mounts["webhook-secret"]+"/"))

			checkRBAC(t, b, flags["--leader-election-id"])
		})
	}
}

// The AKS variant differs only where it must: the provisioner, its flags and workload identity.
func TestDeployAKS(t *testing.T) {
	is := is.New(t)
	base, aks := buildDeploy(t, deployVariants[0]), buildDeploy(t, deployVariants[1])
	bargs := checkSyncArgs(t, base.deployment.Spec.Template.Spec.Containers[0].Args[1:])
	aargs := checkSyncArgs(t, aks.deployment.Spec.Template.Spec.Containers[0].Args[1:])
	is.Equal(bargs["--provisioner"], "byo")
	is.Equal(aargs["--provisioner"], "aks")
	for _, f := range []string{"--aks-subscription-id", "--aks-resource-group", "--aks-cluster"} {
		is.Equal(bargs[f], "")
		is.True(aargs[f] != "")
	}
	checkVarsDefined(t, aks.deployment.Spec.Template.Spec.Containers[0].Args, aks.config.Data, nil)
	is.True(aks.sa.Annotations["azure.workload.identity/client-id"] != "")
	is.Equal(aks.deployment.Spec.Template.Labels["azure.workload.identity/use"], "true")
	is.Equal(base.sa.Annotations["azure.workload.identity/client-id"], "")
	is.Equal(base.deployment.Spec.Template.Labels["azure.workload.identity/use"], "")
	// The cloud does the rest: not one more right in the cluster.
	is.Equal(aks.clusterRole.Rules, base.clusterRole.Rules)
	is.Equal(aks.role.Rules, base.role.Rules)
}

// The kustomize CLI builds the same manifests as krusty, so `kubectl apply -k` and
// `kustomize build | kubectl apply -f -` agree with what the tests check.
func TestDeployKustomizeCLI(t *testing.T) {
	bin := kustomizetest.Binary(t)
	for _, dir := range deployVariants {
		t.Run(dir, func(t *testing.T) {
			is := is.New(t)
			is.Equal(string(kustomizetest.Build(t, bin, dir)), string(buildDeploy(t, dir).yaml))
		})
	}
}

// checkSyncArgs parses args with the sync command's own flags and returns each flag's value as
// given ("true" for a bare boolean).
func checkSyncArgs(t *testing.T, args []string) map[string]string {
	t.Helper()
	cmd := newSyncCmd()
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatalf("deploy/'s args do not parse as `kaito-sync sync` flags: %v\n%v", err, args)
	}
	if rest := cmd.Flags().Args(); len(rest) > 0 {
		t.Fatalf("deploy/'s args hold positional arguments %v", rest)
	}
	out := map[string]string{}
	for _, a := range args {
		name, value, ok := strings.Cut(a, "=")
		if !ok {
			value = "true"
		}
		if _, dup := out[name]; dup {
			t.Fatalf("flag %s given twice in deploy/'s args: the last one wins silently", name)
		}
		out[name] = value
	}
	return out
}

// checkVarsDefined checks that every $(VAR) in args is defined for the container: the kubelet
// leaves an unknown reference as it is, and kaito-sync would sync a repository named "$(X)".
func checkVarsDefined(t *testing.T, args []string, config map[string]string, env []corev1.EnvVar) {
	t.Helper()
	defined := map[string]bool{"POD_NAMESPACE": true, "POD_NAME": true}
	for k := range config {
		defined[k] = true
	}
	for _, e := range env {
		defined[e.Name] = true
	}
	for _, a := range args {
		for _, m := range regexp.MustCompile(`\$\(([^)]*)\)`).FindAllStringSubmatch(a, -1) {
			if !defined[m[1]] {
				t.Errorf("arg %q refers to $(%s), which the container does not define", a, m[1])
			}
		}
	}
}

// checkRBAC checks the shape of the rights; test/e2e/rbac proves each one needed and sufficient.
func checkRBAC(t *testing.T, b *deployBuild, lease string) {
	t.Helper()
	is := is.New(t)
	subject := []rbacv1.Subject{{Kind: "ServiceAccount", Name: b.sa.Name, Namespace: b.sa.Namespace}}
	is.Equal(b.crb.Subjects, subject)
	is.Equal(b.crb.RoleRef.Name, b.clusterRole.Name)
	is.Equal(b.rb.Subjects, subject)
	is.Equal(b.rb.RoleRef.Name, b.role.Name)
	is.Equal(b.role.Namespace, b.sa.Namespace)
	for _, r := range append(slices.Clone(b.clusterRole.Rules), b.role.Rules...) {
		for _, s := range slices.Concat(r.APIGroups, r.Resources, r.Verbs) {
			is.True(s != "*") // no wildcard
		}
		is.True(!slices.Contains(r.Resources, "secrets")) // only with --allow-secrets, added by hand
		is.True(!slices.Contains(r.Verbs, "update") || slices.Equal(r.Resources, []string{"leases"}))
	}
	// The Lease rights name the Lease the args elect on.
	named := false
	for _, r := range b.role.Rules {
		if len(r.ResourceNames) > 0 {
			is.Equal(r.ResourceNames, []string{lease})
			named = true
		}
	}
	is.True(named)
}

// selects reports whether a Service selector matches a Pod's labels.
func selects(selector, labels map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return len(selector) > 0
}
