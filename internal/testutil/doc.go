// Package testutil holds the helpers the integration suite (internal/controller) and the
// end-to-end suite (test/e2e) share: readiness of any kind, the tokens the Falcon simulator
// holds, the events about an object, the statuses and events of the operator's kinds as text,
// and the search for leaked secrets.
//
// The helpers take the client and the simulator they work on, and return values and errors
// instead of failing a test, so that they serve either suite and Gomega's Eventually alike:
//
//	Eventually(testutil.Object(ctx, c, fit)).Should(testutil.BeReady())
//	Expect(testutil.Leaks(places, sim.Secrets())).To(BeEmpty())
package testutil
