package testenv

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"
)

// StopAPIServer kills kube-apiserver with SIGKILL — a crash, not a shutdown: requests in flight
// are cut, nothing drains — and waits until it has exited. etcd and its data stay, as do the
// other components, which retry; clients get "connection refused" until StartAPIServer.
func (e *Env) StopAPIServer() error {
	e.procsMu.Lock()
	var api *process
	for i, p := range e.procs {
		if p.name == KubeAPIServer {
			api = p
			e.procs = append(e.procs[:i:i], e.procs[i+1:]...)
			break
		}
	}
	e.procsMu.Unlock()
	if api == nil {
		return errors.New("testenv: kube-apiserver is not running")
	}
	api.kill()
	return nil
}

// StartAPIServer starts kube-apiserver again as it first ran — same port, etcd, certificates and
// tokens, so Config, Kubeconfig and Client keep working — and waits until it is ready.
func (e *Env) StartAPIServer(ctx context.Context) error {
	for _, p := range e.running() {
		if p.name == KubeAPIServer {
			return errors.New("testenv: kube-apiserver is already running")
		}
	}
	// The port was the apiserver's until its death; a socket the kernel is still tearing down can
	// hold it a moment, which the apiserver reports as "address already in use" and exits.
	var err error
	for attempt := 1; attempt <= 5; attempt++ {
		if err = e.run(KubeAPIServer, filepath.Join(e.opts.BinDir, KubeAPIServer), e.apiArgs...); err != nil {
			return err
		}
		if err = e.waitReady(ctx, e.apiPort, e.apiToken, e.apiCAFile); err == nil {
			return nil
		}
		if !e.logsContain("address already in use") || ctx.Err() != nil {
			break
		}
		_ = e.StopAPIServer()
		time.Sleep(time.Duration(attempt) * 200 * time.Millisecond)
	}
	return fmt.Errorf("testenv: restarting kube-apiserver: %w", err)
}
