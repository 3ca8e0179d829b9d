package testenv

import "syscall"

// sysProcAttr puts a child in its own process group (so Stop can signal all of it, and a Ctrl-C in
// the terminal does not race Stop's ordering) and has the kernel SIGKILL it when the test binary
// dies without running Stop (panic, test timeout, kill -9).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
