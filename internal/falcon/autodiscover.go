package falcon

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// maxRedirects bounds a token request's redirect chain; autodiscovery needs one.
const maxRedirects = 3

type discoveryKey struct{}

// discovery records where a token request finally succeeded.
type discovery struct {
	region   string   // X-Cs-Region of the final reply, lower case
	finalURL *url.URL // where the final reply came from
}

func withDiscovery(ctx context.Context, d *discovery) context.Context {
	return context.WithValue(ctx, discoveryKey{}, d)
}

func discoveryOf(ctx context.Context) *discovery {
	d, _ := ctx.Value(discoveryKey{}).(*discovery)
	return d
}

// record runs on the requesting goroutine: http.Client calls RoundTrip synchronously.
func (d *discovery) record(u *url.URL, h http.Header) {
	d.finalURL = u
	d.region = strings.ToLower(strings.TrimSpace(headerValue(h, "X-Cs-Region")))
}

// checkRedirect follows redirects only for /oauth2/* requests of an autodiscovering client,
// and only to a commercial cloud in the Endpoints table: the token request carries the client
// secret, which must never reach another host. Other requests get the redirect reply itself.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	op := operationOf(req.Context())
	if !strings.HasPrefix(op, "oauth2-") {
		return http.ErrUseLastResponse
	}
	if len(via) >= maxRedirects {
		return refusal(op, "too many redirects", "")
	}
	if !c.autodiscover {
		region := ""
		if req.Response != nil {
			region = strings.ToLower(headerValue(req.Response.Header, "X-Cs-Region"))
		}
		return wrongCloud(op, region)
	}
	cloud, apiPath, ok := c.endpoints.locate(req.URL)
	switch {
	case !ok || !strings.HasPrefix(apiPath, "/oauth2/"):
		return refusal(op, fmt.Sprintf("redirect to %q refused: not a configured Falcon cloud endpoint", req.URL.Host), "")
	case isGovCloud(cloud):
		return refusal(op, fmt.Sprintf("redirect to GovCloud %s refused: GovCloud is never autodiscovered", cloud), govCloudHint)
	}
	return nil
}

// wrongCloud refuses the redirect a client of a named cloud gets when its API client lives in
// another cloud: following it would leave API calls going to the wrong cloud.
func wrongCloud(op, region string) *APIError {
	if region == "" {
		return refusal(op, "the API client belongs to another cloud", fmt.Sprintf("set the cloud to %q", CloudAutodiscover))
	}
	return refusal(op, fmt.Sprintf("the API client belongs to cloud %q", region), fmt.Sprintf("set the cloud to %q or %q", region, CloudAutodiscover))
}

// settleCloud makes an autodiscovering client use the cloud its token came from: the one
// X-Cs-Region names, else the endpoint that answered.
func (c *Client) settleCloud(d *discovery) error {
	if !c.autodiscover {
		return nil
	}
	cloud := d.region
	if _, known := c.endpoints[cloud]; cloud == "" || !known {
		located, ok := "", false
		if d.finalURL != nil {
			located, _, ok = c.endpoints.locate(d.finalURL)
		}
		if !ok {
			return refusal(opOAuth2Token, fmt.Sprintf("the token reply names region %q, which is not a configured cloud", d.region), "")
		}
		cloud = located
	}
	if isGovCloud(cloud) {
		return refusal(opOAuth2Token, fmt.Sprintf("autodiscovery reached GovCloud %s", cloud), govCloudHint)
	}
	c.mu.Lock()
	c.cloud, c.baseURL = cloud, c.endpoints[cloud]
	c.mu.Unlock()
	return nil
}
