package e2e_test

import (
	"context"
	"os"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/falconops/falcon-token-operator/internal/falcon/falcontest"
	"github.com/falconops/falcon-token-operator/internal/testutil"
)

// scenario is everything one spec owns, so that it runs alone or in any order: namespaces of
// its own, API clients (and so customer accounts) of its own in the simulator, and manager
// processes of its own that watch only its namespaces and keep their lease in its namespace.
// When the spec ends, its processes' metrics are compared with what the simulator received
// from them, the processes are stopped, and everything the scenario produced is searched for
// the secrets the simulator issued.
type scenario struct {
	slug string
	// ns is its first namespace: credentials, resources and the managers' lease.
	ns         string
	namespaces []string
	managers   []*managerProcess
}

// newScenario creates the scenario's first namespace, and arranges the checks and the clean-up
// at its end.
func newScenario(ctx context.Context, slug string) *scenario {
	GinkgoHelper()
	s := &scenario{slug: slug}
	s.ns = s.newNamespace(ctx, "")
	DeferCleanup(s.finish)
	return s
}

// newNamespace creates another namespace of the scenario; the managers started afterwards
// watch it too.
func (s *scenario) newNamespace(ctx context.Context, suffix string) string {
	GinkgoHelper()
	prefix := "e2e-" + s.slug + "-"
	if suffix != "" {
		prefix += suffix + "-"
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix}}
	Expect(k8sClient.Create(ctx, ns)).To(Succeed())
	s.namespaces = append(s.namespaces, ns.Name)
	return ns.Name
}

// newAPIClient registers an API client, with a customer account of its own, in the simulator
// and stores its credentials in the Secret secretName of the scenario's namespace.
func (s *scenario) newAPIClient(ctx context.Context, secretName string, scopes ...string) falcontest.APIClient {
	GinkgoHelper()
	api, err := testutil.NewAPIClient(ctx, k8sClient, sim, s.ns, secretName, scopes...)
	Expect(err).NotTo(HaveOccurred())
	return api
}

type managerOption func(*managerOptions)

// standalone: no leader election, the process reconciles whatever other replicas do.
func standalone() managerOption { return func(o *managerOptions) { o.leaderElect = false } }

// syncEvery sets the sync period, how often the drift check runs.
func syncEvery(d time.Duration) managerOption { return func(o *managerOptions) { o.syncPeriod = d } }

// startManager starts a manager process of the scenario, a replica with leader election unless
// told otherwise.
func (s *scenario) startManager(opts ...managerOption) *managerProcess {
	GinkgoHelper()
	o := managerOptions{
		leaderElect:              true,
		leaseNamespace:           s.ns,
		namespaces:               append([]string(nil), s.namespaces...),
		syncPeriod:               syncPeriod,
		clusterResourceNamespace: s.ns,
	}
	for _, opt := range opts {
		opt(&o)
	}
	m := startManager(o)
	s.managers = append(s.managers, m)
	return m
}

// startLeader starts a replica and waits until it leads.
func (s *scenario) startLeader(opts ...managerOption) *managerProcess {
	GinkgoHelper()
	m := s.startManager(opts...)
	m.waitLeader()
	return m
}

// leaseHolder is the identity holding the scenario's lease, "" when released.
func (s *scenario) leaseHolder(ctx context.Context) (string, error) {
	lease := &coordinationv1.Lease{}
	if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: s.ns, Name: leaseName}, lease); err != nil {
		return "", err
	}
	if lease.Spec.HolderIdentity == nil {
		return "", nil
	}
	return *lease.Spec.HolderIdentity, nil
}

// finish runs when the spec ends, passed or failed. No process of the scenario may have
// exited on its own, and each one still running must have counted in its metrics exactly the
// requests the simulator received from it (when the spec passed: a failed one may have left
// requests hanging). Then the processes are stopped, and no secret the simulator issued may
// appear in their logs or metrics, or in the events and statuses of the scenario.
func (s *scenario) finish(ctx SpecContext) {
	passed := !CurrentSpecReport().Failed()
	failures := InterceptGomegaFailures(func() {
		for _, m := range s.managers {
			if m.stopping {
				continue
			}
			m.expectRunning()
			if passed && m.running() {
				Eventually(func(g Gomega) {
					families, err := m.metrics()
					g.Expect(err).NotTo(HaveOccurred())
					expectRequestsCounted(g, m, families)
				}).WithTimeout(time.Minute).WithPolling(time.Second).Should(Succeed())
			}
		}
	})
	for _, m := range s.managers {
		if m.running() {
			m.terminate()
		}
	}
	s.expectNoLeaks(ctx)
	Expect(failures).To(BeEmpty(), "the scenario's manager processes")
}

// expectNoLeaks searches the scenario's manager logs and metrics pages, the events about its
// namespaces' objects and cluster-scoped ones, and the statuses of its resources for every
// client secret, access token and installation-token value the simulator issued.
func (s *scenario) expectNoLeaks(ctx context.Context) {
	GinkgoHelper()
	var logs, pages strings.Builder
	for _, m := range s.managers {
		raw, err := os.ReadFile(m.logPath)
		Expect(err).NotTo(HaveOccurred())
		logs.Write(raw)
		pages.WriteString(strings.Join(m.pages, "\n"))
	}
	events, eventCount, err := testutil.EventsText(ctx, k8sClient, s.namespaces...)
	Expect(err).NotTo(HaveOccurred())
	statuses, statusCount, err := testutil.StatusesText(ctx, k8sClient, s.namespaces...)
	Expect(err).NotTo(HaveOccurred())
	places := map[string]string{"manager logs": logs.String(), "metrics pages": pages.String(), "events": events, "statuses": statuses}
	secrets := sim.Secrets()
	leaks := testutil.Leaks(places, secrets)
	add("all", "leaks found", len(leaks))
	record("8 secrets never leak", "secrets the simulator issued, searched for at the end of every scenario", len(secrets))
	add("8 secrets never leak", "log bytes searched", logs.Len())
	add("8 secrets never leak", "events searched", eventCount)
	add("8 secrets never leak", "statuses searched", statusCount)
	Expect(leaks).To(BeEmpty(), "no secret the simulator issued appears in what scenario %s produced", s.slug)
}
