package controller

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/falcon"
)

// The fakes of the unit tests: the phases against a fake of the Falcon seam (tokenAPI,
// settingsAPI) and controller-runtime's fake client. The integration suite runs them against a
// real API server and the simulator.

func unitScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(s)
	_ = falconv1alpha1.AddToScheme(s)
	return s
}

// fakeCluster is a fake client with the indexes and status subresources the reconcilers use.
func fakeCluster(objs ...client.Object) client.Client {
	return fake.NewClientBuilder().WithScheme(unitScheme()).
		WithObjects(objs...).
		WithStatusSubresource(&falconv1alpha1.FalconInstallationToken{}, &falconv1alpha1.ClusterFalconInstallationToken{}, &falconv1alpha1.FalconTokenSettings{}).
		WithIndex(&falconv1alpha1.FalconInstallationToken{}, tokenIDIndex, heldTokenIDs).
		WithIndex(&falconv1alpha1.ClusterFalconInstallationToken{}, tokenIDIndex, heldTokenIDs).
		WithIndex(&corev1.Secret{}, secretOwnerIndex, func(o client.Object) []string {
			if owner := metav1.GetControllerOf(o); owner != nil {
				return []string{string(owner.UID)}
			}
			return nil
		}).
		Build()
}

// unitSkeleton is the shared skeleton over c, on a fake clock at t0, recording events in an
// events.FakeRecorder.
func unitSkeleton(c client.Client, kind string, redact func(string) string) (skeleton, *clocktesting.FakeClock) {
	clk := clocktesting.NewFakeClock(t0)
	return skeleton{client: c, fence: newCacheFence(clk), recorder: events.NewFakeRecorder(100), clock: clk, kind: kind,
		syncPeriod: 10 * time.Minute, redact: redact}, clk
}

// reconcileOnce runs one reconcile of obj and fails the test on an error.
func reconcileOnce(t *testing.T, r reconcile.Reconciler, obj client.Object) ctrl.Result {
	t.Helper()
	result, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(obj)})
	if err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	return result
}

// current is obj as c now stores it.
func current[T client.Object](t *testing.T, c client.Client, obj T) T {
	t.Helper()
	got := obj.DeepCopyObject().(T)
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(obj), got); err != nil {
		t.Fatal(err)
	}
	return got
}

// staleReader serves one old copy of an object before reading through, as a cache that has not
// caught up with another writer does.
type staleReader struct {
	client.Client
	mu    sync.Mutex
	stale map[types.NamespacedName]client.Object
}

func (s *staleReader) Get(ctx context.Context, key types.NamespacedName, obj client.Object, opts ...client.GetOption) error {
	s.mu.Lock()
	old, ok := s.stale[key]
	delete(s.stale, key)
	s.mu.Unlock()
	if !ok {
		return s.Client.Get(ctx, key, obj, opts...)
	}
	raw, err := runtime.DefaultUnstructuredConverter.ToUnstructured(old)
	if err != nil {
		return err
	}
	return runtime.DefaultUnstructuredConverter.FromUnstructured(raw, obj)
}

// fakeFalcon is one customer account behind the seam: its tokens and settings, the calls made,
// and errors to return once per operation.
type fakeFalcon struct {
	mu       sync.Mutex
	clock    interface{ Now() time.Time } // set by tokenUnderTest; tokens are created at its Now
	tokens   []falcon.Token
	settings falcon.CustomerSettings
	calls    []string
	fail     map[string]error // the next call of an operation fails with this
	// lostCreate, when set, makes the next create happen in the account but fail for the caller.
	lostCreate error
	nextID     int
}

func newFakeFalcon() *fakeFalcon {
	return &fakeFalcon{fail: map[string]error{}}
}

func (f *fakeFalcon) record(op string) error {
	f.calls = append(f.calls, op)
	if err, ok := f.fail[op]; ok {
		delete(f.fail, op)
		return err
	}
	return nil
}

// count is how many calls of op were made.
func (f *fakeFalcon) count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c == op {
			n++
		}
	}
	return n
}

func (f *fakeFalcon) Cloud() string                          { return "us-1" }
func (f *fakeFalcon) Identity() (clientID, memberCID string) { return "client", "" }

func (f *fakeFalcon) CCID(context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return "0123456789ABCDEF0123456789ABCDEF-12", f.record("ccid")
}

// mint adds a token as the API would create it, whether or not the caller hears of it.
func (f *fakeFalcon) mint(label string, expiresAt *time.Time) falcon.Token {
	f.nextID++
	tok := falcon.Token{ID: fmt.Sprintf("%032x", f.nextID), Value: fmt.Sprintf("%08x", 0xabc00000+f.nextID), Label: label,
		Status: falcon.TokenStatusValid, CreatedAt: f.clock.Now().UTC().Truncate(time.Second), ExpiresAt: expiresAt}
	f.tokens = append(f.tokens, tok)
	return tok
}

func (f *fakeFalcon) CreateToken(_ context.Context, label string, expiresAt *time.Time) (falcon.Token, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("tokens-create"); err != nil {
		return falcon.Token{}, err
	}
	if err := f.lostCreate; err != nil {
		f.lostCreate = nil
		f.mint(label, expiresAt)
		return falcon.Token{}, err
	}
	return f.mint(label, expiresAt), nil
}

// loseCreateReply makes the next create happen in the account but fail for the caller.
func (f *fakeFalcon) loseCreateReply(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lostCreate = err
}

func (f *fakeFalcon) GetTokens(_ context.Context, ids []string) ([]falcon.Token, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("tokens-read"); err != nil {
		return nil, err
	}
	var out []falcon.Token
	for _, t := range f.tokens {
		if slices.Contains(ids, t.ID) {
			out = append(out, t)
		}
	}
	return out, nil
}

func (f *fakeFalcon) FindTokensByMarker(_ context.Context, marker string) ([]falcon.Token, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("find-by-marker"); err != nil {
		return nil, err
	}
	var out []falcon.Token
	for _, t := range f.tokens {
		if falcon.HasMarker(t.Label, marker) {
			out = append(out, t)
		}
	}
	return out, nil
}

func (f *fakeFalcon) UpdateTokens(_ context.Context, ids []string, u falcon.TokenUpdate) ([]falcon.Token, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("tokens-update"); err != nil {
		return nil, err
	}
	var out []falcon.Token
	for i := range f.tokens {
		t := &f.tokens[i]
		if !slices.Contains(ids, t.ID) {
			continue
		}
		if u.Label != nil {
			t.Label = *u.Label
		}
		if u.Expiry != nil {
			t.ExpiresAt = u.Expiry.At
		}
		if u.Revoked != nil && *u.Revoked {
			t.Status = falcon.TokenStatusRevoked
		} else if u.Revoked != nil {
			t.Status = falcon.TokenStatusValid
		}
		out = append(out, *t)
	}
	return out, nil
}

func (f *fakeFalcon) DeleteTokens(_ context.Context, ids []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("tokens-delete"); err != nil {
		return err
	}
	f.tokens = slices.DeleteFunc(f.tokens, func(t falcon.Token) bool { return slices.Contains(ids, t.ID) })
	return nil
}

func (f *fakeFalcon) GetCustomerSettings(context.Context) (falcon.CustomerSettings, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.settings, f.record("settings-read")
}

func (f *fakeFalcon) UpdateCustomerSettings(_ context.Context, s falcon.CustomerSettings) (falcon.CustomerSettings, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("settings-update"); err != nil {
		return f.settings, err
	}
	f.settings = s
	return f.settings, nil
}

func (f *fakeFalcon) CountValidTokens(context.Context) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, t := range f.tokens {
		if t.Status == falcon.TokenStatusValid {
			n++
		}
	}
	return n, f.record("tokens-count")
}
