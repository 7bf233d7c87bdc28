package controller

import (
	"context"
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

	mu    sync.Mutex
	known map[types.NamespacedName]parsedCredentials // by Secret, valid for one UID and resourceVersion
}

type parsedCredentials struct {
	uid             types.UID
	resourceVersion string
	credentials     falcon.Credentials
	rejected        bool // Falcon refused them: no call is made until the Secret changes
}

func newCredentialSource(metadata *credentialWatches, secrets client.Reader, opts Options) *credentialSource {
	return &credentialSource{metadata: metadata, secrets: secrets, endpoints: opts.Endpoints, transport: opts.FalconTransport, clients: opts.Clients, clock: opts.Clock,
		known: map[types.NamespacedName]parsedCredentials{}}
}

// client returns the API client for the credentials in Secret namespace/name on cloud. The
// Secret's data is read only when its resourceVersion is new.
func (s *credentialSource) client(ctx context.Context, ref types.NamespacedName, cloud string) (*falcon.Client, error) {
	if _, err := s.endpoints.Resolve(cloud); err != nil {
		return nil, &blockedError{reason: falconv1alpha1.ReasonCloudNotFound, message: fmt.Sprintf(
			"cloud %q is neither a Falcon cloud nor registered with --cloud-endpoint: use one of %s", cloud, strings.Join(cloudNames(s.endpoints), ", "))}
	}
	if !s.metadata.watched(ref.Namespace) {
		return nil, &blockedError{reason: falconv1alpha1.ReasonCredentialsNotFound, message: fmt.Sprintf(
			"credentials Secret %s is in a namespace the operator does not watch: add it to --watch-namespaces", ref)}
	}
	meta, err := s.metadata.get(ctx, ref)
	if err != nil {
		if apierrors.IsNotFound(err) {
			s.forget(ref)
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
	return s.clients.Get(key, falcon.Config{
		Credentials:    creds,
		Cloud:          cloud,
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
		s.forget(ref) // deleted and created again: the old client is retired
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
}

// forget drops what is known of a credentials Secret that is gone, and retires its client.
func (s *credentialSource) forget(ref types.NamespacedName) {
	s.mu.Lock()
	cached, ok := s.known[ref]
	delete(s.known, ref)
	s.mu.Unlock()
	if ok {
		s.clients.Retire(string(cached.uid))
	}
}

// cloudNames lists the clouds a resource may name, for error messages.
func cloudNames(endpoints falcon.Endpoints) []string {
	names := []string{falconv1alpha1.CloudAutodiscover}
	for _, name := range slices.Sorted(maps.Keys(endpoints)) {
		names = append(names, name)
	}
	return names
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
