//go:build !unix

package testenv

import (
	"os"
	"syscall"
)

// The control plane is only supported on unix; these let the package compile elsewhere.

func sysProcAttr() *syscall.SysProcAttr { return nil }

func signalGroup(pid int, _ bool) {
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
}

func alive(int) bool { return false }
