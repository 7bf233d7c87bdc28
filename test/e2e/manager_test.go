package e2e_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	coordinationv1 "k8s.io/api/coordination/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// managerProcess is one manager replica: the built binary as its own OS process.
type managerProcess struct {
	id         int
	prefix     string // its path prefix on the simulator's address
	cmd        *exec.Cmd
	logPath    string
	metricsURL string
	readyzURL  string
	started    time.Time
	exited     chan struct{}
	state      *os.ProcessState // once exited
	stopping   bool             // the test sent it a signal; any other exit is unexpected
}

var (
	managersMu sync.Mutex
	managers   []*managerProcess // every process started, in order
	// current is the replica the scenarios expect to be the leader.
	current *managerProcess
	// metricsPages are the metrics pages scraped from every process, for the leak check.
	metricsPages []string
)

// startManager starts a replica and waits until it answers /readyz (a standby answers too).
func startManager() *managerProcess {
	GinkgoHelper()
	managersMu.Lock()
	id := len(managers) + 1
	managersMu.Unlock()
	m := &managerProcess{
		id:      id,
		prefix:  fmt.Sprintf("m%d", id),
		logPath: filepath.Join(workDir, fmt.Sprintf("manager-%02d.log", id)),
		exited:  make(chan struct{}),
	}
	metricsAddr, probeAddr := freeLocalAddress(), freeLocalAddress()
	m.metricsURL, m.readyzURL = "http://"+metricsAddr+"/metrics", "http://"+probeAddr+"/readyz"
	args := []string{
		"--cloud-endpoint=sim=" + simulator.endpoint(m.prefix),
		"--allow-insecure-endpoints",
		"--sync-period=" + syncPeriod.String(),
		"--metrics-bind-address=" + metricsAddr,
		"--metrics-secure=false",
		"--health-probe-bind-address=" + probeAddr,
		"--leader-elect",
		"--leader-election-namespace=" + leaseNamespace,
		"--leader-elect-lease-duration=" + leaseDuration.String(),
		"--leader-elect-renew-deadline=" + renewDeadline.String(),
		"--leader-elect-retry-period=" + retryPeriod.String(),
		"--zap-devel=false",
		"--zap-log-level=debug",
	}
	logFile, err := os.Create(m.logPath)
	Expect(err).NotTo(HaveOccurred())
	m.cmd = exec.Command(managerBinary, args...)
	m.cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	m.cmd.Stdout, m.cmd.Stderr = logFile, logFile
	m.cmd.SysProcAttr = childProcAttr()
	Expect(m.cmd.Start()).To(Succeed())
	m.started = time.Now()
	go func() {
		_ = m.cmd.Wait()
		m.state = m.cmd.ProcessState
		_ = logFile.Close()
		close(m.exited)
	}()
	managersMu.Lock()
	managers = append(managers, m)
	managersMu.Unlock()
	record("all", "manager processes started", len(managers))

	Eventually(func(g Gomega) {
		g.Expect(m.running()).To(BeTrue(), "manager %d exited: %s\n%s", m.id, m.exitStatus(), logTail(m.logPath, 20))
		g.Expect(httpOK(m.readyzURL)).To(BeTrue())
	}).WithTimeout(time.Minute).Should(Succeed(), "manager %d answers /readyz", m.id)
	return m
}

func (m *managerProcess) String() string {
	return fmt.Sprintf("manager %d (pid %d)", m.id, m.cmd.Process.Pid)
}

// exitStatus describes how the process ended, or that it still runs.
func (m *managerProcess) exitStatus() string {
	if m.running() {
		return "still running"
	}
	return m.state.String()
}

func (m *managerProcess) running() bool {
	select {
	case <-m.exited:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL and waits until the process is gone.
func (m *managerProcess) kill() {
	GinkgoHelper()
	m.stopping = true
	m.scrapeForLeakCheck()
	Expect(m.cmd.Process.Signal(syscall.SIGKILL)).To(Succeed())
	Eventually(m.exited).WithTimeout(10 * time.Second).Should(BeClosed())
	status := m.state.Sys().(syscall.WaitStatus)
	Expect(status.Signaled() && status.Signal() == syscall.SIGKILL).To(BeTrue(), "%s ended by SIGKILL, not %s", m, m.state)
}

// terminate sends SIGTERM, as the kubelet does, and returns how long the process took to exit.
func (m *managerProcess) terminate() time.Duration {
	GinkgoHelper()
	m.stopping = true
	m.scrapeForLeakCheck()
	sent := time.Now()
	Expect(m.cmd.Process.Signal(syscall.SIGTERM)).To(Succeed())
	select {
	case <-m.exited:
	case <-time.After(2 * gracePeriod):
		_ = m.cmd.Process.Kill()
		<-m.exited
		Fail(fmt.Sprintf("%s did not exit within %s of SIGTERM", m, 2*gracePeriod))
	}
	return time.Since(sent)
}

// expectRunning fails when the process exited without being told to.
func (m *managerProcess) expectRunning() {
	GinkgoHelper()
	Expect(m.running()).To(BeTrue(), "%s exited on its own: %s\n%s", m, m.exitStatus(), logTail(m.logPath, 30))
}

// isLeader reports whether the process holds the lease, from its own metrics.
func (m *managerProcess) isLeader() bool {
	families, err := m.metrics()
	if err != nil {
		return false
	}
	for _, metric := range families["leader_election_master_status"].GetMetric() {
		if metric.GetGauge().GetValue() == 1 {
			return true
		}
	}
	return false
}

// waitLeader waits until the process leads; a new leader waits for its predecessor's lease.
func (m *managerProcess) waitLeader() {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		g.Expect(m.running()).To(BeTrue(), "%s exited: %s", m, m.exitStatus())
		g.Expect(m.isLeader()).To(BeTrue())
	}).WithTimeout(3*leaseDuration+time.Minute).WithPolling(100*time.Millisecond).Should(Succeed(), "%s becomes the leader", m)
}

// metricsText is the process's metrics page.
func (m *managerProcess) metricsText() (string, error) {
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(m.metricsURL)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", m.metricsURL, resp.Status)
	}
	return string(body), nil
}

// metrics parses the process's metrics page.
func (m *managerProcess) metrics() (map[string]*dto.MetricFamily, error) {
	text, err := m.metricsText()
	if err != nil {
		return nil, err
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	return parser.TextToMetricFamilies(strings.NewReader(text))
}

// scrapeForLeakCheck keeps the metrics page of a process about to stop, for scenario 8.
func (m *managerProcess) scrapeForLeakCheck() {
	if text, err := m.metricsText(); err == nil {
		managersMu.Lock()
		metricsPages = append(metricsPages, text)
		managersMu.Unlock()
	}
}

// ensureLeader makes sure a replica leads, starting one when the previous scenario left none.
func ensureLeader() *managerProcess {
	GinkgoHelper()
	if current == nil || !current.running() {
		current = startManager()
	}
	current.waitLeader()
	return current
}

// stopAllManagers stops every process still running, gracefully if it will.
func stopAllManagers() {
	managersMu.Lock()
	all := append([]*managerProcess(nil), managers...)
	managersMu.Unlock()
	for _, m := range all {
		if m.running() {
			m.terminate()
		}
	}
}

// leaseHolder is the identity holding the manager's lease, "" when released.
func leaseHolder(ctx context.Context) (string, error) {
	lease := &coordinationv1.Lease{}
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: leaseNamespace, Name: leaseName}, lease); err != nil {
		return "", err
	}
	if lease.Spec.HolderIdentity == nil {
		return "", nil
	}
	return *lease.Spec.HolderIdentity, nil
}

func httpOK(url string) bool {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// freeLocalAddress returns a loopback address with a port nothing listens on right now.
func freeLocalAddress() string {
	GinkgoHelper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	defer l.Close()
	return l.Addr().String()
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

// allManagerLogs is the output of every process started, for the leak check.
func allManagerLogs() (string, int) {
	managersMu.Lock()
	all := append([]*managerProcess(nil), managers...)
	managersMu.Unlock()
	var b bytes.Buffer
	for _, m := range all {
		raw, err := os.ReadFile(m.logPath)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			Expect(err).NotTo(HaveOccurred())
		}
		b.Write(raw)
	}
	return b.String(), len(all)
}

func printLogTails(w io.Writer, lines int) {
	managersMu.Lock()
	all := append([]*managerProcess(nil), managers...)
	managersMu.Unlock()
	for _, m := range all {
		fmt.Fprintf(w, "\n--- the end of %s ---\n%s\n", filepath.Base(m.logPath), logTail(m.logPath, lines))
	}
}

// metricValue is the value of the series of family whose labels include want; found is false
// when there is none.
func metricValue(families map[string]*dto.MetricFamily, family string, want map[string]string) (value float64, found bool) {
	for _, metric := range families[family].GetMetric() {
		if hasLabels(metric, want) {
			switch {
			case metric.Counter != nil:
				return metric.GetCounter().GetValue(), true
			case metric.Gauge != nil:
				return metric.GetGauge().GetValue(), true
			case metric.Histogram != nil:
				return float64(metric.GetHistogram().GetSampleCount()), true
			}
		}
	}
	return 0, false
}

func hasLabels(metric *dto.Metric, want map[string]string) bool {
	have := map[string]string{}
	for _, l := range metric.GetLabel() {
		have[l.GetName()] = l.GetValue()
	}
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// labelsOf returns the labels of a series as a map.
func labelsOf(metric *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range metric.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// codeLabel is the metrics' code label for a status the simulator sent.
func codeLabel(status int) string {
	if status == 0 {
		return "error"
	}
	return strconv.Itoa(status)
}
