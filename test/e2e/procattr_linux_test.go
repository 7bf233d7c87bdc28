package e2e_test

import "syscall"

// childProcAttr makes a process the suite starts (a manager, kube-controller-manager) die with
// the test process, so that an interrupted or timed-out run leaves nothing behind.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
