package e2e_test

import (
	. "github.com/onsi/ginkgo/v2"
)

// The scenarios of issue 7, in the order they run. They are numbered as in the issue; scenario 7
// is split so that its two-minute watch for hot loops runs while scenarios 4 and 5 do their
// work, which keeps the suite short on two cores. Scenarios 10, 9 and 8 come last because they
// look at what all the others left: 10 hands the lease to a standby, 9 compares the leader's
// metrics with what the simulator received from it and with every resource's status, and 8
// searches everything for the secrets the simulator issued.
//
// ContinueOnFailure: a failed scenario does not hide the results of the next ones; each starts
// a leader itself when the previous one left none.
var _ = Describe("falcon-token-operator run as a binary", Ordered, ContinueOnFailure, func() {
	It("7a. bad input: the API server refuses every invalid sample of the validation table", badInputRefused)
	It("1. kill -9 storm: 100 resources converge through repeated SIGKILLs with one token each", killStorm)
	It("2. leader failover: the standby takes over a killed leader's work within the lease time", leaderFailover)
	It("3. flaky API: resources converge through 5xx, dropped connections and latency, with backoff", flakyAPI)
	It("6a. secret tampering: deleted and edited Secrets are restored with the same values", secretTampering)
	It("6b. secret tampering: Secrets deleted and edited while the manager was down are restored after its restart", secretTamperingWhileDown)
	It("7b. bad input: objects only Falcon can refuse end in their condition", badInputConditions)
	It("4. 429 storm: no request during Retryafter, RateLimited meanwhile, another credential not delayed", rateLimitStorm)
	It("5. credential rotation: work continues with the new client secret without a restart", credentialRotation)
	It("7c. bad input: at most a few API calls over two minutes, no hot loop", badInputNoHotLoop)
	It("10. graceful shutdown: SIGTERM releases the lease and exits within the grace period", gracefulShutdown)
	It("9. metrics: the operator's series match what the simulator received", metricsAreCorrect)
	It("8. secrets never leak: not in logs, events, statuses or metrics", secretsNeverLeak)
})
