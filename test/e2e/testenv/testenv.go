// Package testenv runs a real Kubernetes control plane for tests: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler and kwok (which plays the kubelet for fake nodes), all on
// free loopback ports in a temporary folder. The binaries come from hack/testbin.sh.
//
// A test package starts one control plane for all its tests:
//
//	var env *testenv.Env
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Main(m, &env)) }
//
// Pods only run on kwok-managed nodes; add some with Env.AddGPUNode.
package testenv

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Versions of the binaries hack/testbin.sh builds; they name its cache folder.
const (
	KubernetesVersion = "1.37.2"
	EtcdVersion       = "3.6.16"
	KwokVersion       = "0.8.0"
)

// BinDirEnv names the environment variable that points at the binary folder.
const BinDirEnv = "KAITO_SYNC_TESTBIN"

// Component names; each logs to <Env.Dir>/<name>.log.
const (
	Etcd              = "etcd"
	KubeAPIServer     = "kube-apiserver"
	ControllerManager = "kube-controller-manager"
	Scheduler         = "kube-scheduler"
	Kwok              = "kwok"
)

// Binaries lists the files Start needs in the binary folder.
var Binaries = []string{Etcd, KubeAPIServer, ControllerManager, Scheduler, Kwok, "kwok-stages.yaml"}

// ErrBinariesMissing is returned (wrapped) by Start when the binary folder is incomplete.
var ErrBinariesMissing = errors.New("control-plane binaries missing")

// BinDir is the folder holding the binaries: $KAITO_SYNC_TESTBIN, or the cache folder
// hack/testbin.sh builds into by default.
func BinDir() string {
	if d := os.Getenv(BinDirEnv); d != "" {
		return d
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "kaito-sync", "testbin",
		"k8s-"+KubernetesVersion+"-etcd-"+EtcdVersion+"-kwok-"+KwokVersion)
}

// MissingBinaries returns the entries of Binaries that dir lacks.
func MissingBinaries(dir string) []string {
	var missing []string
	for _, b := range Binaries {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			missing = append(missing, b)
		}
	}
	return missing
}

// Options tune Start. The zero value is ready to use.
type Options struct {
	BinDir       string                           // default BinDir()
	TempDir      string                           // parent of the run folder; default os.TempDir()
	ReadyTimeout time.Duration                    // for kube-apiserver /readyz; default 90s
	StopTimeout  time.Duration                    // per component, SIGTERM to SIGKILL; default 10s
	KeepDir      bool                             // keep the run folder (logs, etcd data) after Stop
	Logf         func(format string, args ...any) // progress messages; default none
}

// Env is a running control plane.
type Env struct {
	Config        *rest.Config         // admin (system:masters) access to the kube-apiserver
	Kubeconfig    string               // path of a kubeconfig file with the same access
	Client        kubernetes.Interface // a clientset built from Config
	Dir           string               // run folder: logs, certificates, etcd data
	StartDuration time.Duration        // how long Start took until the apiserver was ready

	opts     Options
	procsMu  sync.Mutex
	procs    []*process // in start order
	stopOnce sync.Once
	stopErr  error

	// What StartAPIServer needs to bring kube-apiserver back as it was.
	apiArgs             []string
	apiPort             int
	apiToken, apiCAFile string
}

// Start runs etcd and kube-apiserver, waits until the apiserver is ready, then starts
// kube-controller-manager, kube-scheduler and kwok. On error nothing is left running. Call Stop.
func Start(ctx context.Context, opts Options) (*Env, error) {
	if opts.BinDir == "" {
		opts.BinDir = BinDir()
	}
	if opts.TempDir == "" {
		opts.TempDir = os.TempDir()
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 90 * time.Second
	}
	if opts.StopTimeout == 0 {
		opts.StopTimeout = 10 * time.Second
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	if missing := MissingBinaries(opts.BinDir); len(missing) > 0 {
		return nil, fmt.Errorf("%w in %s: %s", ErrBinariesMissing, opts.BinDir, strings.Join(missing, ", "))
	}
	removeStaleRunDirs(opts.TempDir)
	// A port picked as free can be taken by someone else before the component binds it; retry.
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		var env *Env
		var portClash bool
		env, portClash, err = start(ctx, opts)
		if err == nil {
			return env, nil
		}
		if !portClash || ctx.Err() != nil {
			break
		}
		opts.Logf("testenv: port clash, retrying (%v)", err)
	}
	return nil, err
}

const runDirPrefix = "kaito-sync-testenv-"

func start(ctx context.Context, opts Options) (_ *Env, portClash bool, err error) {
	t0 := time.Now()
	dir, err := os.MkdirTemp(opts.TempDir, runDirPrefix)
	if err != nil {
		return nil, false, err
	}
	e := &Env{Dir: dir, opts: opts}
	defer func() {
		if err != nil {
			portClash = e.logsContain("address already in use")
			e.opts.KeepDir = false
			_ = e.Stop()
		}
	}()
	if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return nil, false, err
	}

	ports, err := freePorts(3)
	if err != nil {
		return nil, false, err
	}
	etcdPort, peerPort, apiPort := ports[0], ports[1], ports[2]
	token, err := writeSecrets(dir)
	if err != nil {
		return nil, false, err
	}
	certDir := filepath.Join(dir, "certs")
	bin := func(name string) string { return filepath.Join(opts.BinDir, name) }
	url := func(port int) string { return "http://127.0.0.1:" + strconv.Itoa(port) }

	if err := e.run(Etcd, bin(Etcd),
		"--name", "t", "--data-dir", filepath.Join(dir, "etcd-data"), "--unsafe-no-fsync",
		"--listen-client-urls", url(etcdPort), "--advertise-client-urls", url(etcdPort),
		"--listen-peer-urls", url(peerPort), "--initial-advertise-peer-urls", url(peerPort),
		"--initial-cluster", "t="+url(peerPort),
	); err != nil {
		return nil, false, err
	}
	e.apiArgs = []string{
		"--etcd-servers", url(etcdPort),
		"--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
		"--secure-port", strconv.Itoa(apiPort), "--cert-dir", certDir,
		"--endpoint-reconciler-type", "none",
		"--token-auth-file", filepath.Join(dir, "tokens.csv"), "--authorization-mode", "RBAC",
		"--service-account-issuer", "https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file", filepath.Join(dir, "sa.pub"),
		"--service-account-signing-key-file", filepath.Join(dir, "sa.key"),
		"--service-cluster-ip-range", "10.96.0.0/16", "--allow-privileged=true",
		"--disable-admission-plugins", "ServiceAccount",
	}
	if err := e.run(KubeAPIServer, bin(KubeAPIServer), e.apiArgs...); err != nil {
		return nil, false, err
	}

	// The apiserver writes its self-signed serving certificate (which includes its CA) at startup;
	// a restart finds it in --cert-dir and serves the same one, so clients keep trusting it.
	caFile := filepath.Join(certDir, "apiserver.crt")
	e.apiPort, e.apiToken, e.apiCAFile = apiPort, token, caFile
	if err := e.waitReady(ctx, apiPort, token, caFile); err != nil {
		return nil, false, err
	}
	e.StartDuration = time.Since(t0)
	opts.Logf("testenv: kube-apiserver ready on 127.0.0.1:%d after %v (run folder %s)", apiPort, e.StartDuration.Round(time.Millisecond), dir)

	kc := []string{"--kubeconfig", e.Kubeconfig}
	if err := e.run(ControllerManager, bin(ControllerManager), append(kc,
		"--leader-elect=false", "--secure-port=0",
		"--service-account-private-key-file", filepath.Join(dir, "sa.key"),
		"--controllers=*,-serviceaccount-token")...,
	); err != nil {
		return nil, false, err
	}
	if err := e.run(Scheduler, bin(Scheduler), append(kc, "--leader-elect=false", "--secure-port=0")...); err != nil {
		return nil, false, err
	}
	if err := e.run(Kwok, bin(Kwok), append(kc,
		"-c", bin("kwok-stages.yaml"), "--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
		"--node-ip=10.0.0.1", "--cidr=10.0.0.0/16")...,
	); err != nil {
		return nil, false, err
	}
	return e, false, nil
}

// run starts a component and records it for Stop.
func (e *Env) run(name, bin string, args ...string) error {
	p, err := startProcess(e.Dir, name, bin, args...)
	if err != nil {
		return err
	}
	e.procsMu.Lock()
	e.procs = append(e.procs, p)
	e.procsMu.Unlock()
	return nil
}

// running returns a copy of the components' list, safe to range over while one restarts.
func (e *Env) running() []*process {
	e.procsMu.Lock()
	defer e.procsMu.Unlock()
	return append([]*process(nil), e.procs...)
}

// waitReady polls the apiserver's /readyz until it answers ok, a component dies, or the timeout.
func (e *Env) waitReady(ctx context.Context, port int, token, caFile string) error {
	ctx, cancel := context.WithTimeout(ctx, e.opts.ReadyTimeout)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		if err := e.Check(); err != nil {
			return err
		}
		if e.Client == nil {
			if _, err := os.Stat(caFile); err == nil {
				if err := e.connect(port, token, caFile); err != nil {
					return err
				}
			}
		}
		if e.Client != nil {
			rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
			body, err := e.Client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(rctx)
			rcancel()
			if err == nil && strings.TrimSpace(string(body)) == "ok" {
				return nil
			}
			lastErr = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kube-apiserver not ready after %v (last error: %v)\n%s",
				e.opts.ReadyTimeout, lastErr, e.logTails(20, Etcd, KubeAPIServer))
		case <-tick.C:
		}
	}
}

// connect writes the kubeconfig and builds Config and Client from it.
func (e *Env) connect(port int, token, caFile string) error {
	e.Kubeconfig = filepath.Join(e.Dir, "kubeconfig")
	kc := clientcmdapi.NewConfig()
	kc.Clusters["testenv"] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:" + strconv.Itoa(port), CertificateAuthority: caFile}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: token}
	kc.Contexts["testenv"] = &clientcmdapi.Context{Cluster: "testenv", AuthInfo: "admin"}
	kc.CurrentContext = "testenv"
	if err := clientcmd.WriteToFile(*kc, e.Kubeconfig); err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", e.Kubeconfig)
	if err != nil {
		return err
	}
	cfg.QPS, cfg.Burst = 200, 400
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	e.Config, e.Client = cfg, client
	return nil
}

// Check returns an error naming any component that has exited, with the end of its log.
func (e *Env) Check() error {
	var errs []error
	for _, p := range e.running() {
		if done, err := p.exited(); done {
			errs = append(errs, fmt.Errorf("%s exited (%v); last lines of %s:\n%s", p.name, err, p.log, p.tail(20)))
		}
	}
	return errors.Join(errs...)
}

// Stop ends the components, clients first, then kube-apiserver, then etcd (the apiserver takes
// long to exit once etcd is gone), each with SIGTERM and SIGKILL after Options.StopTimeout, and
// removes the run folder unless Options.KeepDir. It is safe to call more than once.
func (e *Env) Stop() error {
	e.stopOnce.Do(func() {
		var clients, rest []*process
		for _, p := range e.running() {
			switch p.name {
			case KubeAPIServer, Etcd:
				rest = append(rest, p)
			default:
				clients = append(clients, p)
			}
		}
		var wg sync.WaitGroup
		for _, p := range clients {
			wg.Add(1)
			go func() { defer wg.Done(); p.stop(e.opts.StopTimeout) }()
		}
		wg.Wait()
		for i := len(rest) - 1; i >= 0; i-- { // start order is etcd, apiserver
			rest[i].stop(e.opts.StopTimeout)
		}
		if e.opts.KeepDir {
			_ = os.Remove(filepath.Join(e.Dir, "owner.pid")) // not stale: kept on purpose
		} else {
			e.stopErr = os.RemoveAll(e.Dir)
		}
	})
	return e.stopErr
}

// DumpLogs writes the last n lines of every component's log to w.
func (e *Env) DumpLogs(w io.Writer, n int) {
	fmt.Fprint(w, e.logTails(n))
}

func (e *Env) logTails(n int, only ...string) string {
	var b strings.Builder
	for _, p := range e.running() {
		if len(only) > 0 && !contains(only, p.name) {
			continue
		}
		fmt.Fprintf(&b, "----- last %d lines of %s -----\n%s\n", n, p.log, p.tail(n))
	}
	return b.String()
}

func (e *Env) logsContain(s string) bool {
	for _, p := range e.running() {
		if b, err := os.ReadFile(p.log); err == nil && strings.Contains(string(b), s) {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// freePorts asks the kernel for n distinct free loopback ports.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// writeSecrets writes the service-account key pair and a token file with one admin token.
func writeSecrets(dir string) (token string, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return "", err
	}
	files := map[string][]byte{
		"sa.key": pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}),
		"sa.pub": pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}),
	}
	raw := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	token = hex.EncodeToString(raw)
	files["tokens.csv"] = []byte(token + ",admin,admin-uid,system:masters\n")
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return "", err
		}
	}
	return token, nil
}

// removeStaleRunDirs deletes run folders left by test binaries that died without Stop (their
// children were killed by Pdeathsig, the folder stayed).
func removeStaleRunDirs(parent string) {
	dirs, _ := filepath.Glob(filepath.Join(parent, runDirPrefix+"*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "owner.pid"))
		if err != nil {
			continue
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && !alive(pid) {
			_ = os.RemoveAll(d)
		}
	}
}
