package falcontest

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

// Scopes of the API a client may hold.
const (
	ScopeTokensRead    = "installation-tokens:read"
	ScopeTokensWrite   = "installation-tokens:write"
	ScopeSettingsWrite = "installation-tokens-settings:write"
	ScopeSensorRead    = "sensor-installers:read"
)

// AllScopes are the scopes a client gets when none are given.
var AllScopes = []string{ScopeTokensRead, ScopeTokensWrite, ScopeSettingsWrite, ScopeSensorRead}

// scopeOf is the scope each operation needs; OAuth2 operations need none.
var scopeOf = map[string]string{
	opTokensQuery: ScopeTokensRead, opTokensRead: ScopeTokensRead,
	opTokensCreate: ScopeTokensWrite, opTokensUpdate: ScopeTokensWrite, opTokensDelete: ScopeTokensWrite,
	opAuditQuery: ScopeTokensRead, opAuditRead: ScopeTokensRead,
	opSettingsRead: ScopeTokensRead, opSettingsUpdate: ScopeSettingsWrite,
	opCCID: ScopeSensorRead,
}

// The API's own messages.
const (
	msgInvalidBearer   = "access denied, invalid bearer token"
	msgScopeNotAllowed = "access denied, scope not permitted"
	msgNotAuthorized   = "Failed to issue access token - Not Authorized"
)

// APIClient is an API client of the Falcon console.
type APIClient struct {
	ClientID, ClientSecret string
	CID                    string   // 32 upper-hex customer ID (the parent, for MSSP)
	Cloud                  string   // default us-1
	Scopes                 []string // nil: AllScopes
	MemberCIDs             []string // child CIDs reachable through member_cid
}

type accessToken struct {
	clientID string
	cid      string
	cloud    string
	expires  time.Time
}

// AddClient registers c, filling an empty ID, secret or CID with random ones, and returns it.
func (s *Simulator) AddClient(c APIClient) APIClient {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.ClientID == "" {
		c.ClientID = randomHex(16)
	}
	if c.ClientSecret == "" {
		c.ClientSecret = randomHex(20)
	}
	if c.CID == "" {
		c.CID = strings.ToUpper(randomHex(16))
	}
	if c.Cloud == "" {
		c.Cloud = defaultCloud
	}
	if c.Scopes == nil {
		c.Scopes = slices.Clone(AllScopes)
	}
	stored := c
	s.clients[c.ClientID] = &stored
	s.secrets[c.ClientSecret] = struct{}{}
	s.accountLocked(c.CID)
	for _, m := range c.MemberCIDs {
		s.accountLocked(m)
	}
	return c
}

// RotateSecret gives the client a new secret; the old one stops working and its access tokens
// are revoked.
func (s *Simulator) RotateSecret(clientID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.clients[clientID]
	c.ClientSecret = randomHex(20)
	s.secrets[c.ClientSecret] = struct{}{}
	for tok, at := range s.accessTokens {
		if at.clientID == clientID {
			delete(s.accessTokens, tok)
		}
	}
	return c.ClientSecret
}

// SetScopes replaces the client's scopes.
func (s *Simulator) SetScopes(clientID string, scopes []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients[clientID].Scopes = slices.Clone(scopes)
}

// issueToken answers POST /oauth2/token.
func (s *Simulator) issueToken(req *request) *response {
	r := req.r
	_ = r.ParseForm()
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = r.PostFormValue("client_id"), r.PostFormValue("client_secret")
	}
	member := r.PostFormValue("member_cid")
	req.clientID = id
	req.limitKey = "ip-token/" + remoteIP(r)

	s.mu.Lock()
	defer s.mu.Unlock()
	if res := s.admitLocked(req, req.limitKey, s.opts.TokenRequestsPerIP, time.Minute); res != nil {
		return res
	}
	c, ok := s.clients[id]
	if !ok || c.ClientSecret != secret {
		return envelope(http.StatusForbidden, nil, apiError(http.StatusForbidden, msgNotAuthorized))
	}
	if c.Cloud != req.cloud {
		if isGov(c.Cloud) || isGov(req.cloud) {
			return envelope(http.StatusForbidden, nil, apiError(http.StatusForbidden, msgNotAuthorized))
		}
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		res := envelope(http.StatusPermanentRedirect, nil, apiError(http.StatusPermanentRedirect, "Permanent Redirect"))
		res.headers = map[string]string{"Location": scheme + "://" + r.Host + "/" + c.Cloud + "/oauth2/token", "X-Cs-Region": c.Cloud}
		return res
	}
	cid := c.CID
	if member != "" {
		if !slices.Contains(c.MemberCIDs, strings.ToUpper(member)) {
			return envelope(http.StatusForbidden, nil, apiError(http.StatusForbidden, msgNotAuthorized))
		}
		cid = strings.ToUpper(member)
	}
	token := randomHex(32)
	s.accessTokens[token] = &accessToken{clientID: id, cid: cid, cloud: c.Cloud, expires: req.now.Add(s.opts.AccessTokenTTL)}
	s.secrets[token] = struct{}{}
	return &response{
		status:  http.StatusCreated,
		body:    map[string]any{"access_token": token, "token_type": "bearer", "expires_in": int(s.opts.AccessTokenTTL / time.Second)},
		headers: map[string]string{"X-Cs-Region": c.Cloud},
	}
}

// authorize checks the bearer token (or, for /oauth2/revoke, Basic auth) and the scope.
// It returns nil when the call may go on.
func (s *Simulator) authorize(req *request) *response {
	s.mu.Lock()
	defer s.mu.Unlock()
	if req.op == opRevoke {
		id, secret, _ := req.r.BasicAuth()
		req.clientID = id
		if c, ok := s.clients[id]; ok && c.ClientSecret == secret {
			req.client, req.cid, req.limitKey = c, c.CID, "cid/"+c.CID
			return nil
		}
		return s.badBearerLocked(req)
	}
	bearer, ok := strings.CutPrefix(req.r.Header.Get("Authorization"), "Bearer ")
	at, known := s.accessTokens[bearer]
	if !ok || !known || at.cloud != req.cloud || !req.now.Before(at.expires) {
		return s.badBearerLocked(req)
	}
	req.clientID, req.cid, req.client = at.clientID, at.cid, s.clients[at.clientID]
	req.limitKey = "cid/" + at.cid
	if scope := scopeOf[req.op]; !slices.Contains(req.client.Scopes, scope) {
		// Counted against the CID like any authenticated call.
		if res := s.admitLocked(req, req.limitKey, s.opts.RateLimit, s.opts.RateWindow); res != nil {
			return res
		}
		req.limitKey = ""
		return envelope(http.StatusForbidden, nil, apiError(http.StatusForbidden, msgScopeNotAllowed))
	}
	return nil
}

// badBearerLocked answers a call without a valid token, under the per-IP limit for such calls.
func (s *Simulator) badBearerLocked(req *request) *response {
	req.limitKey = "ip-bad/" + remoteIP(req.r)
	if res := s.admitLocked(req, req.limitKey, s.opts.BadBearerPerIP, time.Minute); res != nil {
		return res
	}
	return envelope(http.StatusUnauthorized, nil, apiError(http.StatusUnauthorized, msgInvalidBearer))
}

// revoke answers POST /oauth2/revoke.
func (s *Simulator) revoke(req *request) *response {
	_ = req.r.ParseForm()
	s.mu.Lock()
	defer s.mu.Unlock()
	if at, ok := s.accessTokens[req.r.PostFormValue("token")]; ok && at.clientID == req.clientID {
		delete(s.accessTokens, req.r.PostFormValue("token"))
	}
	return envelope(http.StatusOK, nil, nil)
}

func isGov(cloud string) bool { return strings.HasPrefix(cloud, "us-gov-") }

func remoteIP(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndex(host, ":"); i >= 0 {
		host = host[:i]
	}
	return host
}
