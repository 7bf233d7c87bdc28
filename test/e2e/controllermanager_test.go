package e2e_test

import (
	"fmt"
	"path/filepath"
	"time"

	. "github.com/onsi/gomega"
)

// kube-controller-manager beside envtest's API server, with only the two controllers whose
// absence would hide bugs of the operator: the namespace controller (a deleted namespace is
// emptied and removed, so finalizers that never finish show as a namespace stuck Terminating)
// and the garbage collector (a Secret owned by a deleted resource is removed, one whose owner
// reference the operator took away stays).
//
// The garbage collector learns the kinds it can collect from discovery, and a kind installed
// after it started only at its next discovery refresh (about 30 s): the suite installs the CRDs
// with envtest before starting it.

// controllerManagerArgs are kube-controller-manager's flags. It needs no service-account key,
// cluster signing key or cloud provider with these two controllers; it serves nothing
// (--secure-port=0), so that runs of the suite side by side do not compete for its port.
func controllerManagerArgs(kubeconfig string) []string {
	return []string{
		"--kubeconfig=" + kubeconfig,
		"--controllers=namespace,garbagecollector",
		"--leader-elect=false",
		"--secure-port=0",
		"--use-service-account-credentials=false",
		"--v=2",
	}
}

// startControllerManager starts kube-controller-manager from the envtest asset directory and
// checks that it keeps running through its start.
func startControllerManager(assets, kubeconfig string) *process {
	p := startProcess("kube-controller-manager", filepath.Join(workDir, "kube-controller-manager.log"),
		filepath.Join(assets, "kube-controller-manager"), controllerManagerArgs(kubeconfig), nil)
	Consistently(p.running).WithTimeout(2*time.Second).Should(BeTrue(), func() string {
		return fmt.Sprintf("kube-controller-manager exited: %s\n%s", p.exitStatus(), logTail(p.logPath, 30))
	})
	return p
}
