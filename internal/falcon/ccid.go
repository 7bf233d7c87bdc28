package falcon

import (
	"context"
	"net/http"
)

const ccidPath = "/sensors/queries/installers/ccid/v1"

// CCID returns the customer ID with checksum ("<32 HEX>-<2 HEX>") that sensors install with
// (FALCONCTL_OPT_CID). It is fetched once per Client, then cached.
func (c *Client) CCID(ctx context.Context) (string, error) {
	if err := c.ccidFetch.lock(ctx, opCCID); err != nil {
		return "", err
	}
	defer c.ccidFetch.unlock()
	c.mu.Lock()
	cached := c.ccid
	c.mu.Unlock()
	if cached != "" {
		return cached, nil
	}
	ccid, found, err := first[string](ctx, c, request{op: opCCID, method: http.MethodGet, path: ccidPath})
	if err != nil {
		return "", err
	}
	if !found || ccid == "" {
		return "", missingResource(opCCID, "CCID")
	}
	c.mu.Lock()
	c.ccid = ccid
	c.mu.Unlock()
	return ccid, nil
}
