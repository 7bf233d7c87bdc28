package e2e_test

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// process is a program the suite runs as an OS process of its own, its output in a log file
// that is printed when the run fails.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	started time.Time
	exited  chan struct{}
	state   *os.ProcessState // once exited
	// stopping: the test sent it a signal; any other exit is unexpected.
	stopping bool
}

// startProcess starts binary with args and env added to the test's environment, its stdout and
// stderr going to logPath.
func startProcess(name, logPath, binary string, args, env []string) *process {
	GinkgoHelper()
	logFile, err := os.Create(logPath)
	Expect(err).NotTo(HaveOccurred())
	p := &process{name: name, logPath: logPath, exited: make(chan struct{})}
	p.cmd = exec.Command(binary, args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	p.cmd.SysProcAttr = childProcAttr()
	Expect(p.cmd.Start()).To(Succeed(), "start %s", name)
	p.started = time.Now()
	go func() {
		_ = p.cmd.Wait()
		p.state = p.cmd.ProcessState
		_ = logFile.Close()
		close(p.exited)
	}()
	return p
}

func (p *process) String() string {
	return fmt.Sprintf("%s (pid %d)", p.name, p.cmd.Process.Pid)
}

func (p *process) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// exitStatus describes how the process ended, or that it still runs.
func (p *process) exitStatus() string {
	if p.running() {
		return "still running"
	}
	return p.state.String()
}

// kill sends SIGKILL and waits until the process is gone.
func (p *process) kill() {
	GinkgoHelper()
	p.stopping = true
	Expect(p.cmd.Process.Signal(syscall.SIGKILL)).To(Succeed())
	Eventually(p.exited).WithTimeout(10 * time.Second).Should(BeClosed())
	status := p.state.Sys().(syscall.WaitStatus)
	Expect(status.Signaled() && status.Signal() == syscall.SIGKILL).To(BeTrue(), "%s ended by SIGKILL, not %s", p, p.state)
}

// terminate sends SIGTERM, as the kubelet does, and returns how long the process took to exit;
// after timeout it is killed and the test fails.
func (p *process) terminate(timeout time.Duration) time.Duration {
	GinkgoHelper()
	p.stopping = true
	sent := time.Now()
	Expect(p.cmd.Process.Signal(syscall.SIGTERM)).To(Succeed())
	select {
	case <-p.exited:
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.exited
		Fail(fmt.Sprintf("%s did not exit within %s of SIGTERM", p, timeout))
	}
	return time.Since(sent)
}

// expectRunning fails when the process exited without being told to.
func (p *process) expectRunning() {
	GinkgoHelper()
	Expect(p.running()).To(BeTrue(), "%s exited on its own: %s\n%s", p, p.exitStatus(), logTail(p.logPath, 30))
}

// logTail is the end of a log file, for failure messages.
func logTail(path string, lines int) string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	all := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
	return strings.Join(all[max(len(all)-lines, 0):], "\n")
}
