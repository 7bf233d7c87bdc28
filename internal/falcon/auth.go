package falcon

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

const (
	// defaultTokenLifetime applies when a token reply has no expires_in (Falcon sends 1799 s);
	// a 401 still triggers a refresh if the guess is too long.
	defaultTokenLifetime = 30 * time.Minute
	// maxRefreshMargin: a token is replaced this long before it expires (less for short-lived
	// tokens), so no request goes out with a token about to lapse.
	maxRefreshMargin = time.Minute
	// revokeTimeout bounds Close's best-effort revoke.
	revokeTimeout = 5 * time.Second
)

// errMalformedTokenReply replaces x/oauth2's own error texts, which can quote the token reply.
var errMalformedTokenReply = errors.New("malformed token reply")

// token returns a valid access token, fetching one if there is none or it is about to expire.
// Concurrent callers wait for a single fetch.
func (c *Client) token(ctx context.Context) (string, error) {
	if token, ok := c.validToken(); ok {
		return token, nil
	}
	if err := c.tokenFetch.lock(ctx, opOAuth2Token); err != nil {
		return "", err
	}
	defer c.tokenFetch.unlock()
	if token, ok := c.validToken(); ok {
		return token, nil // fetched by the goroutine this one waited for
	}
	return c.fetchToken(ctx)
}

func (c *Client) validToken() (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.accessToken, c.accessToken != "" && c.now().Before(c.refreshAt)
}

// dropToken forgets token after the API refused it, unless another goroutine already replaced it.
func (c *Client) dropToken(token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.accessToken == token {
		c.accessToken, c.retiredAccessToken = "", token
	}
}

func (c *Client) fetchToken(ctx context.Context) (string, error) {
	if err := c.gate.check(opOAuth2Token); err != nil {
		return "", err
	}
	c.mu.Lock()
	tokenURL := c.baseURL + "/oauth2/token"
	c.mu.Unlock()
	conf := clientcredentials.Config{
		ClientID:     c.credentials.ClientID,
		ClientSecret: c.credentials.ClientSecret,
		TokenURL:     tokenURL,
		// In the form body, never the URL; explicit so x/oauth2 does not probe with a second request.
		AuthStyle: oauth2.AuthStyleInParams,
	}
	if c.credentials.MemberCID != "" {
		conf.EndpointParams = url.Values{"member_cid": {c.credentials.MemberCID}}
	}
	found := &discovery{}
	ctx = withDiscovery(withOperation(ctx, opOAuth2Token), found)
	ctx = context.WithValue(ctx, oauth2.HTTPClient, c.http)
	tokenFetches.WithLabelValues(c.metricsLabel).Inc()
	issued, err := conf.Token(ctx)
	if err != nil {
		return "", c.tokenFailure(err)
	}
	if err := c.settleCloud(found); err != nil {
		return "", c.scrub(err, issued.AccessToken)
	}
	lifetime := tokenLifetime(issued)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.accessToken != "" {
		c.retiredAccessToken = c.accessToken
	}
	c.accessToken = issued.AccessToken
	c.refreshAt = c.now().Add(lifetime - min(maxRefreshMargin, lifetime/10))
	return c.accessToken, nil
}

// tokenLifetime reads expires_in from the reply itself: x/oauth2's Expiry is computed with the
// real clock, and the Client may run on an injected one.
func tokenLifetime(t *oauth2.Token) time.Duration {
	seconds, _ := t.Extra("expires_in").(float64)
	if seconds <= 0 || seconds > float64(24*time.Hour/time.Second) {
		return defaultTokenLifetime
	}
	return time.Duration(seconds * float64(time.Second))
}

// tokenFailure maps an x/oauth2 error to the client's error types without passing on
// x/oauth2's text, which can embed the reply body (and with it an access token).
func (c *Client) tokenFailure(err error) error {
	var refused *oauth2.RetrieveError
	if !errors.As(err, &refused) || refused.Response == nil {
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			return requestFailure(opOAuth2Token, urlErr)
		}
		return &transportError{op: opOAuth2Token, err: errMalformedTokenReply}
	}
	status := refused.Response.StatusCode
	if status == http.StatusTooManyRequests {
		return &RateLimitError{Operation: opOAuth2Token, RetryAt: c.gate.retryAt()}
	}
	apiErr := decodeError(opOAuth2Token, status, refused.Response.Header, refused.Body)
	if c.autodiscover && IsInvalidCredentials(apiErr) {
		apiErr.Hint = govCloudHint
	}
	return apiErr
}

// Close revokes the current access token, best effort. The Client stays usable: a later call
// fetches a new token.
func (c *Client) Close() {
	c.mu.Lock()
	token, baseURL := c.accessToken, c.baseURL
	c.accessToken = ""
	if token != "" {
		c.retiredAccessToken = token
	}
	c.mu.Unlock()
	if token == "" {
		return
	}
	ctx, cancel := context.WithTimeout(withOperation(context.Background(), opOAuth2Revoke), revokeTimeout)
	defer cancel()
	form := url.Values{"token": {token}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/oauth2/revoke", strings.NewReader(form.Encode()))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(c.credentials.ClientID, c.credentials.ClientSecret)
	if resp, err := c.http.Do(req); err == nil {
		_ = resp.Body.Close()
	}
}
