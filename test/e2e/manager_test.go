package e2e_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// managerProcess is one manager replica: the built binary as its own OS process.
type managerProcess struct {
	*process
	id     int
	prefix string // its path prefix on the simulator's address
	// metricsAddr and probeAddr are where it serves /metrics and /readyz.
	metricsAddr, probeAddr string
	// pages are the metrics pages scraped before it was stopped, for the leak check.
	pages []string
}

// managerOptions are the flags a scenario chooses for a manager process.
type managerOptions struct {
	// leaderElect: replicas take turns; false: this one reconciles whatever others do.
	leaderElect bool
	// leaseNamespace holds the lease: the scenario's own, so that no lease another scenario's
	// process left behind delays it.
	leaseNamespace string
	// namespaces the process watches (--watch-namespaces): the scenario's own, so that it
	// reconciles what its scenario made and nothing that earlier scenarios left.
	namespaces []string
	syncPeriod time.Duration
	// clusterResourceNamespace holds the credentials of cluster-scoped resources.
	clusterResourceNamespace string
}

// managerArgs are the flags of a manager process, all of them: the one place to add a flag.
func managerArgs(m *managerProcess, o managerOptions) []string {
	args := []string{
		"--cloud-endpoint=sim=" + simulator.endpoint(m.prefix),
		"--allow-insecure-endpoints", // the simulator serves http://
		"--cluster-resource-namespace=" + o.clusterResourceNamespace,
		"--sync-period=" + o.syncPeriod.String(),
		"--metrics-bind-address=" + m.metricsAddr,
		"--metrics-secure=false",
		"--health-probe-bind-address=" + m.probeAddr,
		"--leader-elect=" + fmt.Sprint(o.leaderElect),
		"--leader-election-namespace=" + o.leaseNamespace,
		"--leader-elect-lease-duration=" + leaseDuration.String(),
		"--leader-elect-renew-deadline=" + renewDeadline.String(),
		"--leader-elect-retry-period=" + retryPeriod.String(),
		"--watch-namespaces=" + strings.Join(o.namespaces, ","),
		"--zap-devel=false",
		"--zap-log-level=debug",
	}
	return args
}

var (
	managersMu sync.Mutex
	managers   []*managerProcess // every process started, in order, for the log tails of a failed run
)

// startManager starts a replica and waits until it answers /readyz (a standby answers too).
func startManager(o managerOptions) *managerProcess {
	GinkgoHelper()
	managersMu.Lock()
	id := len(managers) + 1
	m := &managerProcess{id: id, prefix: fmt.Sprintf("m%d", id)}
	managers = append(managers, m)
	managersMu.Unlock()
	m.metricsAddr, m.probeAddr = freeLocalAddress(), freeLocalAddress()
	m.process = startProcess(fmt.Sprintf("manager %d", id), filepath.Join(workDir, fmt.Sprintf("manager-%02d.log", id)),
		managerBinary, managerArgs(m, o), []string{"KUBECONFIG=" + kubeconfig})
	record("all", "manager processes started", id)

	Eventually(func(g Gomega) {
		g.Expect(m.running()).To(BeTrue(), "%s exited: %s\n%s", m, m.exitStatus(), logTail(m.logPath, 20))
		g.Expect(httpOK("http://" + m.probeAddr + "/readyz")).To(BeTrue())
	}).WithTimeout(time.Minute).Should(Succeed(), "%s answers /readyz", m)
	return m
}

// kill sends SIGKILL, keeping the metrics page it had for the leak check.
func (m *managerProcess) kill() {
	GinkgoHelper()
	m.scrape()
	m.process.kill()
}

// terminate sends SIGTERM, keeping the metrics page it had for the leak check, and returns how
// long the process took to exit.
func (m *managerProcess) terminate() time.Duration {
	GinkgoHelper()
	m.scrape()
	return m.process.terminate(2 * gracePeriod)
}

// scrape keeps the process's metrics page for the leak check.
func (m *managerProcess) scrape() {
	if text, err := m.metricsText(); err == nil {
		m.pages = append(m.pages, text)
	}
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
	url := "http://" + m.metricsAddr + "/metrics"
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
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

func httpOK(url string) bool {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return false
	}
	_ = resp.Body.Close() // only the status matters
	return resp.StatusCode == http.StatusOK
}

// freeLocalAddress returns a loopback address with a port nothing listens on right now.
func freeLocalAddress() string {
	GinkgoHelper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = l.Close() }()
	return l.Addr().String()
}

// printLogTails prints the end of every process's log.
func printLogTails(w io.Writer, lines int) {
	managersMu.Lock()
	all := append([]*process(nil), controllerManager)
	for _, m := range managers {
		all = append(all, m.process)
	}
	managersMu.Unlock()
	for _, p := range all {
		if p != nil {
			_, _ = fmt.Fprintf(w, "\n--- the end of %s ---\n%s\n", filepath.Base(p.logPath), logTail(p.logPath, lines))
		}
	}
}
