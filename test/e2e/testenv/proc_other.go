//go:build unix && !linux

package testenv

import "syscall"

// sysProcAttr outside Linux: own process group but no Pdeathsig, so a test binary killed without
// running Stop can leave children behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
