package falcon

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"
)

// CredentialKey identifies one credential: an API client (its ID, secret and member CID) on one
// cloud. Every credentials Secret that holds the same API client shares one Client, and with it
// one access token and one rate-limit state: 500 namespaces with a copy of the same Secret cost
// one OAuth fetch, not 500 (Falcon allows about 300 a minute per source address).
type CredentialKey struct {
	digest string // of the client ID, secret and member CID: the secret is never a map key
	cloud  string
}

// NewCredentialKey returns the key of creds on cloud.
func NewCredentialKey(creds Credentials, cloud string) CredentialKey {
	sum := sha256.Sum256([]byte(creds.ClientID + "\x00" + creds.ClientSecret + "\x00" + strings.ToUpper(creds.MemberCID)))
	return CredentialKey{digest: hex.EncodeToString(sum[:]), cloud: cloud}
}

// ClientLabel names an API client where it may be shown (metrics, a customer account that cannot
// read its CCID): a digest of its ID and member CID, never the ID itself.
func ClientLabel(clientID, memberCID string) string {
	sum := sha256.Sum256([]byte(clientID + "/" + strings.ToUpper(memberCID)))
	return "client-" + hex.EncodeToString(sum[:8])
}

// Cache shares one Client per credential among all reconciles. It is safe for concurrent use.
type Cache struct {
	newClient func(Config) (*Client, error)

	mu      sync.Mutex
	clients map[CredentialKey]*Client
}

// NewCache returns an empty Cache that builds clients with newClient (nil means New).
func NewCache(newClient func(Config) (*Client, error)) *Cache {
	if newClient == nil {
		newClient = New
	}
	return &Cache{newClient: newClient, clients: map[CredentialKey]*Client{}}
}

// Get returns the Client for key, building it from cfg the first time.
func (c *Cache) Get(key CredentialKey, cfg Config) (*Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if client, ok := c.clients[key]; ok {
		return client, nil
	}
	client, err := c.newClient(cfg)
	if err != nil {
		return nil, err
	}
	c.clients[key] = client
	return client, nil
}

// Keep drops and closes every client whose key is not in keep: credentials no Secret holds any
// more (changed, or deleted with the last resource that used them).
func (c *Cache) Keep(keep map[CredentialKey]bool) {
	c.mu.Lock()
	var stale []*Client
	for key, client := range c.clients {
		if !keep[key] {
			stale = append(stale, client)
			delete(c.clients, key)
		}
	}
	c.mu.Unlock()
	for _, client := range stale {
		client.Close() // outside the lock: Close sends a revoke request
	}
}

// Len is the number of clients held.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.clients)
}
