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

	mu    sync.Mutex
	known map[types.NamespacedName]parsedCredentials // by Secret, valid for one UID and resourceVersion
	// lastGood keeps, by Secret, the last credentials Falcon accepted, for cleanups after the
	// Secret is gone (a namespace being deleted takes the Secret with the resources using it).
	lastGood map[types.NamespacedName]usableCredentials
}

// usableCredentials are credentials and the client key they were last used under.
type usableCredentials struct {
	key         falcon.CredentialKey
	credentials falcon.Credentials
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
		lastGood:                 map[types.NamespacedName]usableCredentials{},
	}
}

// client returns the API client for the credentials in Secret namespace/name on cloud. The
// Secret's data is read only when its resourceVersion is new.
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
			return nil, &blockedError{reason: falconv1alpha1.ReasonCredentialsNotFound, message: fmt.Sprintf(
				"credentials Secret %s not found: create it with keys client_id and client_secret", ref)}
		}
		return nil, err
	}
	creds, err := s.credentials(ctx, ref, meta.UID, meta.ResourceVersion)
	if err != nil {
		return nil, err
	}
	key := falcon.CredentialKey{SecretUID: string(meta.UID), ResourceVersion: meta.ResourceVersion, Cloud: cloud, MemberCID: creds.MemberCID}
	c, err := s.build(ref, key, creds)
	if err == nil {
		s.mu.Lock()
		s.lastGood[ref] = usableCredentials{key: key, credentials: creds}
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
	if !ok || last.key.Cloud != cloud {
		return nil, err
	}
	return s.build(ref, last.key, last.credentials)
}

// build returns the shared client of key.
func (s *credentialSource) build(ref types.NamespacedName, key falcon.CredentialKey, creds falcon.Credentials) (*falcon.Client, error) {
	return s.clients.Get(key, falcon.Config{
		Credentials:    creds,
		Cloud:          key.Cloud,
		Endpoints:      s.endpoints,
		Transport:      s.transport,
		RequestTimeout: requestTimeout,
		MetricsLabel:   ref.String(),
		UserAgent:      "falcon-token-operator",
		Now:            s.clock.Now,
	})
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
	if ok && cached.uid != uid {
		s.clients.Retire(string(cached.uid)) // deleted and created again: the old client is retired
	}
	secret := &corev1.Secret{}
	if err := s.secrets.Get(ctx, ref, secret); err != nil {
		if apierrors.IsNotFound(err) {
			return falcon.Credentials{}, &blockedError{reason: falconv1alpha1.ReasonCredentialsNotFound, message: fmt.Sprintf(
				"credentials Secret %s not found: create it with keys client_id and client_secret", ref)}
		}
		return falcon.Credentials{}, err
	}
	creds, err := parseCredentials(secret)
	if err != nil {
		return falcon.Credentials{}, err
	}
	s.mu.Lock()
	s.known[ref] = parsedCredentials{uid: secret.UID, resourceVersion: secret.ResourceVersion, credentials: creds}
	s.mu.Unlock()
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
// retires their clients.
func (s *credentialSource) forgetUnused(used map[types.NamespacedName]bool) {
	s.mu.Lock()
	var retired []types.UID
	for ref, cached := range s.known {
		if !used[ref] {
			retired = append(retired, cached.uid)
			delete(s.known, ref)
		}
	}
	for ref := range s.lastGood {
		if !used[ref] {
			delete(s.lastGood, ref)
		}
	}
	s.mu.Unlock()
	for _, uid := range retired {
		s.clients.Retire(string(uid))
	}
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
