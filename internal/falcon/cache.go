package falcon

import "sync"

// CredentialKey identifies one credential as the operator sees it: a Secret at one
// resourceVersion, used for one cloud and member CID.
type CredentialKey struct {
	SecretUID, ResourceVersion, Cloud, MemberCID string
}

// Cache shares one Client per credential among all reconciles, so they share one access token
// and one rate-limit state. It is safe for concurrent use.
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

// Get returns the Client for key, building it from cfg the first time. A key with a new
// ResourceVersion for a known SecretUID (the Secret changed) retires that Secret's older clients.
func (c *Cache) Get(key CredentialKey, cfg Config) (*Client, error) {
	c.mu.Lock()
	if client, ok := c.clients[key]; ok {
		c.mu.Unlock()
		return client, nil
	}
	client, err := c.newClient(cfg)
	if err != nil {
		c.mu.Unlock()
		return nil, err
	}
	stale := c.removeLocked(func(k CredentialKey) bool {
		return k.SecretUID == key.SecretUID && k.ResourceVersion != key.ResourceVersion
	})
	c.clients[key] = client
	c.mu.Unlock()
	closeAll(stale)
	return client, nil
}

// Retire drops and closes every client of the Secret (it was deleted).
func (c *Cache) Retire(secretUID string) {
	c.mu.Lock()
	stale := c.removeLocked(func(k CredentialKey) bool { return k.SecretUID == secretUID })
	c.mu.Unlock()
	closeAll(stale)
}

// Len is the number of clients held.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.clients)
}

func (c *Cache) removeLocked(match func(CredentialKey) bool) []*Client {
	var removed []*Client
	for k, client := range c.clients {
		if match(k) {
			removed = append(removed, client)
			delete(c.clients, k)
		}
	}
	return removed
}

// closeAll closes outside the lock: Close sends a revoke request.
func closeAll(clients []*Client) {
	for _, client := range clients {
		client.Close()
	}
}
