package e2e_test

import "syscall"

// childProcAttr makes a manager process die with the test process, so that an interrupted or
// timed-out run leaves no manager behind.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
