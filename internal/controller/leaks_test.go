package controller_test

import (
	"context"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/common/expfmt"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/falconops/falcon-token-operator/internal/testutil"
)

// expectNoLeaks fails when any secret the simulator issued (client secrets, access tokens,
// installation-token values) appears in the manager's log, an event, a resource's status or
// the metrics.
func expectNoLeaks(ctx context.Context) {
	GinkgoHelper()
	events, _, err := testutil.EventsText(ctx, k8sClient)
	Expect(err).NotTo(HaveOccurred())
	statuses, _, err := testutil.StatusesText(ctx, k8sClient)
	Expect(err).NotTo(HaveOccurred())
	places := map[string]string{"log": logs.String(), "events": events, "status": statuses, "metrics": metricsText()}
	for place, text := range places {
		Expect(text).NotTo(BeEmpty(), place)
	}
	secrets := sim.Secrets()
	Expect(secrets).NotTo(BeEmpty())
	Expect(testutil.Leaks(places, secrets)).To(BeEmpty(), "a secret the simulator issued appears in these places")
}

func metricsText() string {
	families, err := metrics.Registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	var b strings.Builder
	for _, f := range families {
		_, err := expfmt.MetricFamilyToText(&b, f)
		Expect(err).NotTo(HaveOccurred())
	}
	return b.String()
}
