package falcontest

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Token statuses, as the API reports them.
const (
	statusValid   = "valid"
	statusRevoked = "revoked"
	statusExpired = "expired"
)

// Actions of the audit log, and the actor of changes made in the console.
const (
	actionCreate  = "token_create"
	actionUpdate  = "token_update"
	actionRevoke  = "token_revoke"
	actionRestore = "token_restore"
	actionDelete  = "token_delete"
	actorConsole  = "console"
)

// Token is a stored installation token, as the API returns it, with its owning CID.
type Token struct {
	CID, ID, Value, Label, Status, Type string
	CreatedAt                           time.Time
	ExpiresAt, LastUsedAt, RevokedAt    *time.Time
}

// Settings are a customer account's installation-token settings.
type Settings struct {
	TokensRequired  bool
	MaxActiveTokens int
	// MaxActiveTokensUnset: the account has no cap. Reads leave max_active_tokens out (the
	// swagger does not require it) and creates are not capped, until a PATCH sets one.
	MaxActiveTokensUnset bool
}

// AuditEvent is one entry of an account's installation-token audit log.
type AuditEvent struct {
	ID, Action, Actor, Description, TokenID string
	Timestamp                               time.Time
}

// account is one customer ID's tokens, settings and audit log.
type account struct {
	tokens   map[string]*Token
	order    []string // token IDs by creation
	settings Settings
	audit    []AuditEvent
}

func (s *Simulator) accountLocked(cid string) *account {
	cid = strings.ToUpper(cid)
	a, ok := s.accounts[cid]
	if !ok {
		a = &account{tokens: map[string]*Token{}, settings: Settings{MaxActiveTokens: 1000}}
		s.accounts[cid] = a
	}
	return a
}

// status is the token's status as the API reports it at now.
func (s *Simulator) status(t *Token, now time.Time) string {
	if t.Status == statusValid && s.opts.ExpiredStatus && t.ExpiresAt != nil && !now.Before(*t.ExpiresAt) {
		return statusExpired
	}
	return t.Status
}

func (a *account) activeTokens(now time.Time) int {
	n := 0
	for _, t := range a.tokens {
		if t.Status == statusValid && (t.ExpiresAt == nil || now.Before(*t.ExpiresAt)) {
			n++
		}
	}
	return n
}

func (a *account) createLocked(label string, expiresAt *time.Time, now time.Time) *Token {
	t := &Token{
		ID: randomHex(16), Value: randomHex(4), Label: label, Status: statusValid, Type: "customer_managed",
		CreatedAt: now.UTC().Truncate(time.Second), ExpiresAt: truncate(expiresAt),
	}
	a.tokens[t.ID] = t
	a.order = append(a.order, t.ID)
	return t
}

func (a *account) deleteLocked(id string) {
	delete(a.tokens, id)
	a.order = slices.DeleteFunc(a.order, func(x string) bool { return x == id })
}

func (a *account) record(action, actor, tokenID, description string, now time.Time) {
	a.audit = append(a.audit, AuditEvent{
		ID: randomHex(16), Action: action, Actor: actor, TokenID: tokenID, Description: description,
		Timestamp: now.UTC().Truncate(time.Second),
	})
}

func truncate(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC().Truncate(time.Second)
	return &v
}

// ccid is the CID with its checksum, as the CCID endpoint and FALCONCTL_OPT_CID have it.
func ccid(cid string) string {
	sum := sha256.Sum256([]byte(cid))
	return fmt.Sprintf("%s-%02X", strings.ToUpper(cid), sum[0])
}

// Tokens returns a snapshot of cid's tokens in creation order.
func (s *Simulator) Tokens(cid string) []Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accountLocked(cid)
	now := s.opts.Now()
	out := make([]Token, 0, len(a.order))
	for _, id := range a.order {
		t := *a.tokens[id]
		t.CID, t.Status = strings.ToUpper(cid), s.status(a.tokens[id], now)
		out = append(out, t)
	}
	return out
}

// Token returns one of cid's tokens.
func (s *Simulator) Token(cid, id string) (Token, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.accountLocked(cid).tokens[id]
	if !ok {
		return Token{}, false
	}
	out := *t
	out.CID, out.Status = strings.ToUpper(cid), s.status(t, s.opts.Now())
	return out, true
}

// ConsoleCreateToken creates a token as a person in the Falcon console does.
func (s *Simulator) ConsoleCreateToken(cid, label string, expiresAt *time.Time) Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	a := s.accountLocked(cid)
	t := a.createLocked(label, expiresAt, now)
	s.secrets[t.Value] = struct{}{}
	a.record(actionCreate, actorConsole, t.ID, "created in the console", now)
	out := *t
	out.CID = strings.ToUpper(cid)
	return out
}

// ConsoleRevoke revokes a token in the console.
func (s *Simulator) ConsoleRevoke(cid, id string) {
	s.consoleEdit(cid, id, actionRevoke, func(t *Token, now time.Time) {
		t.Status, t.RevokedAt = statusRevoked, truncate(&now)
	})
}

// ConsoleDelete deletes a token in the console.
func (s *Simulator) ConsoleDelete(cid, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accountLocked(cid)
	a.deleteLocked(id)
	a.record(actionDelete, actorConsole, id, "deleted in the console", s.opts.Now())
}

// ConsoleSetExpiry changes a token's expiry in the console; nil never expires.
func (s *Simulator) ConsoleSetExpiry(cid, id string, expiresAt *time.Time) {
	s.consoleEdit(cid, id, actionUpdate, func(t *Token, _ time.Time) { t.ExpiresAt = truncate(expiresAt) })
}

// ConsoleSetLabel relabels a token in the console.
func (s *Simulator) ConsoleSetLabel(cid, id, label string) {
	s.consoleEdit(cid, id, actionUpdate, func(t *Token, _ time.Time) { t.Label = label })
}

func (s *Simulator) consoleEdit(cid, id, action string, edit func(*Token, time.Time)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accountLocked(cid)
	if t, ok := a.tokens[id]; ok {
		now := s.opts.Now()
		edit(t, now)
		a.record(action, actorConsole, id, "changed in the console", now)
	}
}

// Settings returns cid's installation-token settings.
func (s *Simulator) Settings(cid string) Settings {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accountLocked(cid).settings
}

// ConsoleSetSettings changes cid's settings in the console.
func (s *Simulator) ConsoleSetSettings(cid string, st Settings) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accountLocked(cid).settings = st
}
