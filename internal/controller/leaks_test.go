package controller_test

import (
	"context"
	"encoding/json"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/prometheus/common/expfmt"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
)

// expectNoLeaks fails when any secret the simulator issued (client secrets, access tokens,
// installation-token values) appears in the manager's log, an event, a resource's status or
// the metrics.
func expectNoLeaks(ctx context.Context) {
	GinkgoHelper()
	places := map[string]string{
		"log":     logs.String(),
		"events":  allEventText(ctx),
		"status":  allStatuses(ctx),
		"metrics": metricsText(),
	}
	secrets := sim.Secrets()
	Expect(secrets).NotTo(BeEmpty())
	for place, text := range places {
		Expect(text).NotTo(BeEmpty(), place)
		for _, secret := range secrets {
			Expect(strings.Contains(text, secret)).To(BeFalse(), "a secret the simulator issued appears in the %s", place)
		}
	}
}

func allStatuses(ctx context.Context) string {
	tokens := &falconv1alpha1.FalconInstallationTokenList{}
	Expect(k8sClient.List(ctx, tokens)).To(Succeed())
	settings := &falconv1alpha1.FalconTokenSettingsList{}
	Expect(k8sClient.List(ctx, settings)).To(Succeed())
	raw, err := json.Marshal([]any{tokens, settings})
	Expect(err).NotTo(HaveOccurred())
	return string(raw)
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
