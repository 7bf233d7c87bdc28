package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"
)

// stopGrace is how long a child gets to exit after SIGTERM before it is killed.
const stopGrace = 10 * time.Second

// child is a process the demo started and stops on exit. Its stdout and stderr go to a log file.
type child struct {
	name    string
	logPath string
	cmd     *exec.Cmd
	// exited is closed once the process has exited and its output is in the log.
	exited  chan struct{}
	waitErr error // valid once exited is closed
	// firstLine receives the first line the process writes to stdout; it is closed without a
	// value when stdout ends before a full line.
	firstLine chan string
}

// startChild starts binary with args and env, logging to logPath, and registers its stop.
func startChild(name, logPath string, env []string, cleanup *teardown, binary string, args ...string) (*child, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	stdoutReader, stdoutWriter, err := os.Pipe()
	if err != nil {
		_ = logFile.Close()
		return nil, err
	}
	cmd := exec.Command(binary, args...)
	cmd.Env = env
	cmd.Stdout = stdoutWriter
	cmd.Stderr = logFile
	// Its own process group keeps a terminal's Ctrl-C from reaching it: the demo stops its
	// children itself, in order (in real-cloud mode the manager must outlive the token deletion).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	// The child has its own copy of the write end now (or never started): close ours so the
	// reader sees the end of stdout when the child exits.
	_ = stdoutWriter.Close()
	if err != nil {
		_ = stdoutReader.Close()
		_ = logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}

	c := &child{name: name, logPath: logPath, cmd: cmd, exited: make(chan struct{}), firstLine: make(chan string, 1)}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		defer func() { _ = stdoutReader.Close() }()
		c.copyStdout(stdoutReader, logFile)
	}()
	go func() {
		c.waitErr = cmd.Wait()
		<-copied
		// Nobody is left to tell about a failed close of the log: its content is best effort.
		_ = logFile.Close()
		close(c.exited)
	}()
	cleanup.add(fmt.Sprintf("stop %s (pid %d)", name, cmd.Process.Pid), c.stop)
	return c, nil
}

func (c *child) copyStdout(stdout io.Reader, log io.Writer) {
	reader := bufio.NewReader(stdout)
	line, err := reader.ReadString('\n')
	_, _ = io.WriteString(log, line)
	if err == nil {
		c.firstLine <- strings.TrimSpace(line)
	}
	close(c.firstLine)
	_, _ = io.Copy(log, reader)
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// exitError describes how the process ended, for a process that was not asked to stop.
func (c *child) exitError() error {
	return fmt.Errorf("%s exited unexpectedly (%v); the end of its log %s:\n%s", c.name, c.waitErr, c.logPath, logTail(c.logPath))
}

// stop sends SIGTERM and, after stopGrace, SIGKILL.
func (c *child) stop(context.Context) error {
	select {
	case <-c.exited:
		return nil
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
		return nil
	case <-time.After(stopGrace):
		_ = c.cmd.Process.Kill()
		<-c.exited
		return fmt.Errorf("did not stop within %s of SIGTERM; killed", stopGrace)
	}
}

// childEnv is the demo's environment plus extra, without the real cloud's credentials: those
// reach the manager only through the credentials Secret.
func childEnv(extra ...string) []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "FALCON_CLIENT_ID=") || strings.HasPrefix(kv, "FALCON_CLIENT_SECRET=")
	})
	return append(env, extra...)
}

// logTailLines is how much of a child's log a failure shows.
const logTailLines = 40

// logTail returns the last lines of the log at path, indented.
func logTail(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "    (" + err.Error() + ")"
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return "    (the log is empty)"
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > logTailLines {
		lines = lines[len(lines)-logTailLines:]
	}
	return "    | " + strings.Join(lines, "\n    | ")
}
