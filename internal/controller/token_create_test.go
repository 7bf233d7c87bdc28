package controller

import (
	"context"
	"errors"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/falcon"
)

// tokenUnderTest is a FalconInstallationToken reconciler over c and the fake account; as in
// the manager, its messages are redacted of the token values it knows.
func tokenUnderTest(c client.Client, account *fakeFalcon) (*TokenReconciler, *clocktesting.FakeClock) {
	values := newValueMemory()
	k, clk := unitSkeleton(c, "FalconInstallationToken", values.redact)
	account.clock = clk
	primed := make(chan struct{})
	close(primed)
	connect := func(context.Context, types.NamespacedName, string) (tokenAPI, error) { return account, nil }
	return &TokenReconciler{
		skeleton: k, kind: namespacedTokens{}, apiReader: c,
		credentials: newCredentialSource(nil, c, Options{}),
		connect:     connect, connectForCleanup: connect,
		values: values, snapshots: &snapshots{}, primed: primed,
	}, clk
}

func unitToken(name string, change ...func(*falconv1alpha1.FalconInstallationToken)) *falconv1alpha1.FalconInstallationToken {
	fit := &falconv1alpha1.FalconInstallationToken{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: name, UID: types.UID("uid-" + name), Generation: 1},
		Spec: falconv1alpha1.FalconInstallationTokenSpec{
			FalconAPI: falconv1alpha1.FalconAPI{Cloud: "us-1", CredentialsSecretRef: falconv1alpha1.CredentialsReference{Name: "creds"}},
		},
	}
	for _, c := range change {
		c(fit)
	}
	return fit
}

// A create whose reply is lost (or malformed, such as a reply without an id) keeps the intent
// recorded with the finalizer, and the next reconcile adopts the token by its marker.
func TestLostCreateReplyIsAdoptedByItsMarker(t *testing.T) {
	fit := unitToken("sensors")
	c := fakeCluster(fit)
	account := newFakeFalcon()
	r, _ := tokenUnderTest(c, account)
	account.loseCreateReply(errors.New("falcon tokens-create: malformed reply: no token in the reply"))

	reconcileOnce(t, r, fit)
	after := current(t, c, fit)
	if after.Annotations[falconv1alpha1.CreateIntentAnnotation] == "" || len(after.Finalizers) == 0 {
		t.Fatalf("the intent and the finalizer must be recorded before the create: %v %v", after.Annotations, after.Finalizers)
	}
	if after.Status.TokenID != "" {
		t.Fatal("no token is known from a lost reply")
	}

	reconcileOnce(t, r, fit)
	after = current(t, c, fit)
	if after.Status.TokenID != account.tokens[0].ID || after.Status.Revision != 1 {
		t.Fatalf("status = %+v, want the token found by its marker", after.Status.TokenStatus)
	}
	if n := account.count("tokens-create"); n != 1 {
		t.Fatalf("creates = %d, want 1: the token must be found, not created again", n)
	}
}

// Two tokens carrying one marker (two replicas at once) end with one: the second is revoked.
func TestFinishCreateRevokesADuplicate(t *testing.T) {
	fit := unitToken("twice")
	c := fakeCluster(fit)
	account := newFakeFalcon()
	r, _ := tokenUnderTest(c, account)
	account.loseCreateReply(errors.New("connection reset"))
	reconcileOnce(t, r, fit)
	marker := tokenMarker(fit.UID, 1)
	account.mint(falcon.MarkLabel("team/twice", marker), nil) // the other replica's

	reconcileOnce(t, r, fit)
	var valid []string
	for _, tok := range account.tokens {
		if tok.Status == falcon.TokenStatusValid {
			valid = append(valid, tok.ID)
		}
	}
	if len(valid) != 1 || valid[0] != current(t, c, fit).Status.TokenID {
		t.Fatalf("valid tokens = %v, want only the resource's", valid)
	}
}

// spec.tokenID naming a token another resource holds is refused without any Falcon call, and a
// token whose label carries another resource's marker without any Falcon write.
func TestAdoptionOfAnotherResourcesTokenIsRefused(t *testing.T) {
	owner := unitToken("owner", func(f *falconv1alpha1.FalconInstallationToken) {
		f.Status.TokenID = "0123456789abcdef0123456789abcdef"
	})
	thief := unitToken("thief", func(f *falconv1alpha1.FalconInstallationToken) { f.Spec.TokenID = "0123456789abcdef0123456789abcdef" })
	c := fakeCluster(owner, thief)
	account := newFakeFalcon()
	r, _ := tokenUnderTest(c, account)
	reconcileOnce(t, r, thief)
	ready := meta.FindStatusCondition(current(t, c, thief).Status.Conditions, falconv1alpha1.ConditionReady)
	if ready == nil || ready.Reason != falconv1alpha1.ReasonTokenOwnedElsewhere || !strings.Contains(ready.Message, "team/owner") {
		t.Fatalf("Ready = %+v, want TokenOwnedElsewhere naming team/owner", ready)
	}
	if len(account.calls) != 0 {
		t.Fatalf("Falcon calls = %v, want none", account.calls)
	}

	marked := account.mint(falcon.MarkLabel("other/cluster", tokenMarker("someone-else", 3)), nil)
	squatter := unitToken("squatter", func(f *falconv1alpha1.FalconInstallationToken) { f.Spec.TokenID = marked.ID })
	if err := c.Create(context.Background(), squatter); err != nil {
		t.Fatal(err)
	}
	reconcileOnce(t, r, squatter)
	if ready := meta.FindStatusCondition(current(t, c, squatter).Status.Conditions, falconv1alpha1.ConditionReady); ready == nil || ready.Reason != falconv1alpha1.ReasonTokenOwnedElsewhere {
		t.Fatalf("Ready = %+v, want TokenOwnedElsewhere", ready)
	}
	if account.count("tokens-update") != 0 || account.count("tokens-create") != 0 {
		t.Fatalf("Falcon calls = %v, want no write", account.calls)
	}
}
