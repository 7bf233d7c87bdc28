package controller

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"golang.org/x/sync/singleflight"

	falconv1alpha1 "github.com/falconops/falcon-token-operator/api/v1alpha1"
	"github.com/falconops/falcon-token-operator/internal/falcon"
)

// Key names accepted in a credentials Secret: ours first, then the falcon-operator's, so that
// an existing Secret can be reused.
var (
	clientIDKeys     = []string{"client_id", "falcon-client-id"}
	clientSecretKeys = []string{"client_secret", "falcon-client-secret"}
	memberCIDKeys    = []string{"member_cid", "falcon-member-cid"}
)

// requestTimeout bounds one Falcon API call, so a hung reply never holds a worker for long.
const requestTimeout = 30 * time.Second

// credentialSource turns a credentials reference into the shared API client for it.
type credentialSource struct {
	metadata  *credentialWatches // identity and version of the credentials Secrets in use
	secrets   client.Reader      // direct reads: credentials Secrets are never cached with their data
	endpoints falcon.Endpoints
	transport http.RoundTripper // nil: the Falcon client's default
	clients   *falcon.Cache
	clock     clock.PassiveClock // shared with the reconcilers, so rate-limit windows and renewals agree
	// clusterResourceNamespace holds the cluster-scoped kinds' credentials: always watchable.
	clusterResourceNamespace string

	// reads makes concurrent first reads of one Secret version one read.
	reads singleflight.Group

	mu    sync.Mutex
	known map[types.NamespacedName]parsedCredentials // by Secret, valid for one UID and resourceVersion
	// keys are, by Secret, the clients handed out for it: a client no Secret holds is closed.
	keys map[types.NamespacedName]map[falcon.CredentialKey]bool
	// lastGood keeps, by Secret, the last credentials Falcon accepted, for cleanups after the
	// Secret is gone (a namespace being deleted takes the Secret with the resources using it).
	lastGood map[types.NamespacedName]usableCredentials
}

// usableCredentials are credentials and the cloud they were last used on.
type usableCredentials struct {
	credentials falcon.Credentials
	cloud       string
}

type parsedCredentials struct {
	uid             types.UID
	resourceVersion string
	credentials     falcon.Credentials
	rejected        bool // Falcon refused them: no call is made until the Secret changes
}

func newCredentialSource(metadata *credentialWatches, secrets client.Reader, opts Options) *credentialSource {
	return &credentialSource{
		metadata: metadata, secrets: secrets,
		endpoints: opts.Endpoints, transport: opts.FalconTransport, clients: opts.Clients, clock: opts.Clock,
		clusterResourceNamespace: opts.ClusterResourceNamespace,
		known:                    map[types.NamespacedName]parsedCredentials{},
		keys:                     map[types.NamespacedName]map[falcon.CredentialKey]bool{},
		lastGood:                 map[types.NamespacedName]usableCredentials{},
	}
}

// client returns the API client for the credentials in Secret namespace/name on cloud: the one
// every Secret holding the same API client shares. The Secret's data is read only when its
// resourceVersion is new.
func (s *credentialSource) client(ctx context.Context, ref types.NamespacedName, cloud string) (*falcon.Client, error) {
	if _, err := s.endpoints.Resolve(cloud); err != nil {
		return nil, &blockedError{reason: falconv1alpha1.ReasonCloudNotFound, message: fmt.Sprintf(
			"cloud %q is neither a Falcon cloud nor registered with --cloud-endpoint: use one of %s", cloud, strings.Join(cloudNames(s.endpoints), ", "))}
	}
	if ref.Namespace != s.clusterResourceNamespace && !s.metadata.watched(ref.Namespace) {
		return nil, &blockedError{reason: falconv1alpha1.ReasonCredentialsNotFound, message: fmt.Sprintf(
			"credentials Secret %s is in a namespace the operator does not watch: add it to --watch-namespaces", ref)}
	}
	meta, err := s.metadata.get(ctx, ref)
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, credentialsNotFound(ref)
		}
		return nil, err
	}
	creds, err := s.credentials(ctx, ref, meta.UID, meta.ResourceVersion)
	if err != nil {
		return nil, err
	}
	c, err := s.build(ref, creds, cloud)
	if err == nil {
		s.mu.Lock()
		s.lastGood[ref] = usableCredentials{credentials: creds, cloud: cloud}
		s.mu.Unlock()
	}
	return c, err
}

// cleanupClient is client for a cleanup: when the credentials Secret is gone, it falls back to
// the last credentials Falcon accepted from it, so that the resources it served can still
// clean up while their namespace is deleted.
func (s *credentialSource) cleanupClient(ctx context.Context, ref types.NamespacedName, cloud string) (*falcon.Client, error) {
	c, err := s.client(ctx, ref, cloud)
	var blocked *blockedError
	if !errors.As(err, &blocked) || blocked.reason != falconv1alpha1.ReasonCredentialsNotFound {
		return c, err
	}
	s.mu.Lock()
	last, ok := s.lastGood[ref]
	s.mu.Unlock()
	if !ok || last.cloud != cloud {
		return nil, err
	}
	return s.build(ref, last.credentials, cloud)
}

// build returns the shared client of creds on cloud, and remembers that ref holds it.
func (s *credentialSource) build(ref types.NamespacedName, creds falcon.Credentials, cloud string) (*falcon.Client, error) {
	key := falcon.NewCredentialKey(creds, cloud)
	c, err := s.clients.Get(key, falcon.Config{
		Credentials:    creds,
		Cloud:          cloud,
		Endpoints:      s.endpoints,
		Transport:      s.transport,
		RequestTimeout: requestTimeout,
		MetricsLabel:   falcon.ClientLabel(creds.ClientID, creds.MemberCID),
		UserAgent:      "falcon-token-operator",
		Now:            s.clock.Now,
	})
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.keys[ref] == nil {
		s.keys[ref] = map[falcon.CredentialKey]bool{}
	}
	s.keys[ref][key] = true
	s.mu.Unlock()
	return c, nil
}

func (s *credentialSource) credentials(ctx context.Context, ref types.NamespacedName, uid types.UID, resourceVersion string) (falcon.Credentials, error) {
	s.mu.Lock()
	cached, ok := s.known[ref]
	s.mu.Unlock()
	if ok && cached.uid == uid && cached.resourceVersion == resourceVersion {
		if cached.rejected {
			return falcon.Credentials{}, &blockedError{reason: falconv1alpha1.ReasonCredentialsInvalid, message: credentialsInvalidMessage}
		}
		return cached.credentials, nil
	}
	read, err, _ := s.reads.Do(ref.String()+"@"+resourceVersion, func() (any, error) {
		secret := &corev1.Secret{}
		if err := s.secrets.Get(ctx, ref, secret); err != nil {
			return nil, err
		}
		return secret, nil
	})
	if apierrors.IsNotFound(err) {
		return falcon.Credentials{}, credentialsNotFound(ref)
	}
	if err != nil {
		return falcon.Credentials{}, err
	}
	secret := read.(*corev1.Secret)
	creds, err := parseCredentials(secret)
	if err != nil {
		return falcon.Credentials{}, err
	}
	s.mu.Lock()
	s.known[ref] = parsedCredentials{uid: secret.UID, resourceVersion: secret.ResourceVersion, credentials: creds}
	changed := ok && cached.credentials != creds
	if changed {
		delete(s.keys, ref) // the Secret holds another API client now
	}
	s.mu.Unlock()
	if changed {
		s.closeUnheld()
	}
	return creds, nil
}

// rejectIfRefused remembers that Falcon refused the credentials in Secret ref, when err says
// so, so that no resource using them calls Falcon again until the Secret changes.
func (s *credentialSource) rejectIfRefused(ref types.NamespacedName, err error) {
	if !falcon.IsInvalidCredentials(err) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if cached, ok := s.known[ref]; ok {
		cached.rejected = true
		s.known[ref] = cached
	}
	delete(s.lastGood, ref)
}

// forgetUnused drops what is known of the credentials Secrets no resource names any more, and
// closes the clients no Secret holds.
func (s *credentialSource) forgetUnused(used map[types.NamespacedName]bool) {
	s.mu.Lock()
	for ref := range s.known {
		if !used[ref] {
			delete(s.known, ref)
			delete(s.keys, ref)
			delete(s.lastGood, ref)
		}
	}
	s.mu.Unlock()
	s.closeUnheld()
}

// closeUnheld closes the clients that neither a Secret nor a cleanup's last good credentials
// hold any more.
func (s *credentialSource) closeUnheld() {
	s.mu.Lock()
	held := map[falcon.CredentialKey]bool{}
	for _, keys := range s.keys {
		for key := range keys {
			held[key] = true
		}
	}
	for _, last := range s.lastGood {
		held[falcon.NewCredentialKey(last.credentials, last.cloud)] = true
	}
	s.mu.Unlock()
	s.clients.Keep(held)
}

func credentialsNotFound(ref types.NamespacedName) error {
	return &blockedError{reason: falconv1alpha1.ReasonCredentialsNotFound, message: fmt.Sprintf(
		"credentials Secret %s not found: create it with keys client_id and client_secret", ref)}
}

// cloudNames lists the clouds a resource may name, for error messages.
func cloudNames(endpoints falcon.Endpoints) []string {
	return append([]string{falconv1alpha1.CloudAutodiscover}, slices.Sorted(maps.Keys(endpoints))...)
}

// parseCredentials reads the API client from a credentials Secret, accepting both key styles.
func parseCredentials(secret *corev1.Secret) (falcon.Credentials, error) {
	missing := func(keys []string) error {
		return &blockedError{reason: falconv1alpha1.ReasonCredentialsNotFound, message: fmt.Sprintf(
			"credentials Secret %s/%s has no %s key", secret.Namespace, secret.Name, strings.Join(keys, " or "))}
	}
	id := firstValue(secret.Data, clientIDKeys)
	if id == "" {
		return falcon.Credentials{}, missing(clientIDKeys)
	}
	clientSecret := firstValue(secret.Data, clientSecretKeys)
	if clientSecret == "" {
		return falcon.Credentials{}, missing(clientSecretKeys)
	}
	return falcon.Credentials{ClientID: id, ClientSecret: clientSecret, MemberCID: firstValue(secret.Data, memberCIDKeys)}, nil
}

// firstValue returns the first non-empty value among keys, without the surrounding white
// space that `echo` and editors leave in Secrets.
func firstValue(data map[string][]byte, keys []string) string {
	for _, k := range keys {
		if v := strings.TrimSpace(string(data[k])); v != "" {
			return v
		}
	}
	return ""
}
