package e2e_test

import (
	. "github.com/onsi/ginkgo/v2"
)

// The scenarios, numbered as in issue 7 (1 to 10) and as added since (0, 11 to 14). Each one is
// independent of the others (see scenario): it runs alone with -ginkgo.focus, and in any order
// (-ginkgo.randomize-all). Scenarios 8 and 9 are also checks every scenario ends with: the leak
// check over what it produced, and its processes' request counts against the simulator's.
var _ = Describe("falcon-token-operator run as a binary", func() {
	It("0. control plane: deleted namespaces are emptied and removed, orphaned objects collected", controlPlaneCollects)
	It("7a. bad input: the API server refuses every invalid sample of the validation table", badInputRefused)
	It("1. kill -9 storm: 100 resources converge through repeated SIGKILLs with one token each", killStorm)
	It("2. leader failover: the standby takes over a killed leader's work within the lease time", leaderFailover)
	It("3. flaky API: resources converge through 5xx, dropped connections and latency, with backoff", flakyAPI)
	It("4. 429 storm: no request during Retryafter, RateLimited meanwhile, another credential not delayed", rateLimitStorm)
	It("5. credential rotation: work continues with the new client secret without a restart", credentialRotation)
	It("6a. secret tampering: deleted and edited Secrets are restored with the same values", secretTampering)
	It("6b. secret tampering: Secrets deleted and edited while the manager was down are restored after its restart", secretTamperingWhileDown)
	It("7b. bad input: objects only Falcon can refuse end in their condition, with a few API calls and no hot loop", badInputConditions)
	It("9. metrics: the operator's series match what the simulator received", metricsAreCorrect)
	It("10. graceful shutdown: SIGTERM releases the lease and exits within the grace period", gracefulShutdown)
	It("11. namespace deletion never hangs: the namespace goes and every token is revoked", namespaceDeletion)
	It("12. deletion policy: Orphan keeps the Secret and the token, Revoke revokes and the Secret is collected", deletionPolicies)
	It("13. duplicates self-heal: two managers reconciling at once end with one live token per resource", duplicatesSelfHeal)
	It("14. cluster token: kill -9 while publishing ends with one token and identical Secrets in every namespace", clusterTokenKilledWhilePublishing)
})
