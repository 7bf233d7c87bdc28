package falcontest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/utils/ptr"
)

// handle runs an authorized, admitted API operation.
func (s *Simulator) handle(req *request) *response {
	switch req.op {
	case opRevoke:
		return s.revoke(req)
	case opCCID:
		return envelope(http.StatusOK, []string{ccid(req.cid)}, nil)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accountLocked(req.cid)
	switch req.op {
	case opTokensQuery:
		return s.queryTokens(req, a)
	case opTokensRead:
		return s.readTokens(req, a)
	case opTokensCreate:
		return s.createToken(req, a)
	case opTokensUpdate:
		return s.updateTokens(req, a)
	case opTokensDelete:
		return s.deleteTokens(req, a)
	case opAuditQuery:
		return s.queryAudit(req, a)
	case opAuditRead:
		return s.readAudit(req, a)
	case opSettingsRead:
		return envelope(http.StatusOK, []any{settingsJSON(a.settings)}, nil)
	case opSettingsUpdate:
		return s.updateSettings(req, a)
	}
	return envelope(http.StatusNotFound, nil, apiError(http.StatusNotFound, "Not Found"))
}

func badRequest(message string) *response {
	return envelope(http.StatusBadRequest, nil, apiError(http.StatusBadRequest, message))
}

// tokenJSON is the token entity: all nine fields, null where unset.
func (s *Simulator) tokenJSON(t *Token, now time.Time) map[string]any {
	return map[string]any{
		"id": t.ID, "value": t.Value, fieldLabel: t.Label, "status": s.status(t, now), fieldType: t.Type,
		fieldCreatedTimestamp: formatTime(&t.CreatedAt), fieldExpiresTimestamp: formatTime(t.ExpiresAt),
		"last_used_timestamp": formatTime(t.LastUsedAt), "revoked_timestamp": formatTime(t.RevokedAt),
	}
}

func settingsJSON(st Settings) map[string]any {
	out := map[string]any{"tokens_required": st.TokensRequired}
	if !st.MaxActiveTokensUnset {
		out["max_active_tokens"] = st.MaxActiveTokens
	}
	return out
}

// ids reads the ids parameter, repeated (?ids=a&ids=b) or comma-separated.
func ids(r *http.Request) []string {
	var out []string
	for _, v := range r.URL.Query()["ids"] {
		for _, id := range strings.Split(v, ",") {
			if id = strings.TrimSpace(id); id != "" {
				out = append(out, id)
			}
		}
	}
	return out
}

// page reads limit and offset; limit is 1-1000, default 50.
func page(r *http.Request) (limit, offset int, res *response) {
	q := r.URL.Query()
	limit, offset = 50, 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return 0, 0, badRequest("limit must be an integer from 1 to 1000")
		}
		limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, 0, badRequest("offset must be a non-negative integer")
		}
		offset = n
	}
	return limit, offset, nil
}

func paged(ids []string, limit, offset int) *response {
	total := len(ids)
	start, end := min(offset, total), min(offset+limit, total)
	res := envelope(http.StatusOK, slices.Clone(ids[start:end]), nil)
	res.body.(*envelopeBody).Meta.Pagination = &paging{Offset: offset, Limit: limit, Total: total}
	return res
}

func (s *Simulator) queryTokens(req *request, a *account) *response {
	limit, offset, res := page(req.r)
	if res != nil {
		return res
	}
	filter, res := parseFilterOn(req.r, func(field string) bool {
		_, known := tokenField(s, &Token{}, field, req.now)
		return known
	})
	if res != nil {
		return res
	}
	var matched []*Token
	for _, id := range a.order {
		t := a.tokens[id]
		if filter.matches(func(field string) (string, bool) { return tokenField(s, t, field, req.now) }) {
			matched = append(matched, t)
		}
	}
	if err := sortTokens(matched, req.r.URL.Query().Get("sort")); err != nil {
		return badRequest(err.Error())
	}
	out := make([]string, len(matched))
	for i, t := range matched {
		out[i] = t.ID
	}
	return paged(out, limit, offset)
}

func tokenField(s *Simulator, t *Token, field string, now time.Time) (string, bool) {
	switch field {
	case "id":
		return t.ID, true
	case fieldLabel:
		return t.Label, true
	case "status":
		return s.status(t, now), true
	case fieldType:
		return t.Type, true
	case fieldCreatedTimestamp:
		return *formatTime(&t.CreatedAt), true
	case fieldExpiresTimestamp:
		if t.ExpiresAt == nil {
			return "", true
		}
		return *formatTime(t.ExpiresAt), true
	}
	return "", false
}

func sortTokens(tokens []*Token, sort string) error {
	if sort == "" {
		return nil
	}
	field, dir, ok := strings.Cut(strings.ReplaceAll(sort, "|", "."), ".")
	if !ok {
		dir = "asc"
	}
	var less func(a, b *Token) int
	switch field {
	case fieldCreatedTimestamp:
		less = func(a, b *Token) int { return a.CreatedAt.Compare(b.CreatedAt) }
	case fieldLabel:
		less = func(a, b *Token) int { return strings.Compare(a.Label, b.Label) }
	case fieldExpiresTimestamp:
		less = func(a, b *Token) int { return compareOptional(a.ExpiresAt, b.ExpiresAt) }
	default:
		return fmt.Errorf("cannot sort by %q", field)
	}
	switch dir {
	case "asc":
		slices.SortStableFunc(tokens, less)
	case "desc":
		slices.SortStableFunc(tokens, func(a, b *Token) int { return less(b, a) })
	default:
		return fmt.Errorf("sort direction %q is not asc or desc", dir)
	}
	return nil
}

func compareOptional(a, b *time.Time) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	return a.Compare(*b)
}

// notFound lists the ids that do not exist, as the API's errors do.
func notFound(missing []string) []errorEntry {
	errs := make([]errorEntry, 0, len(missing))
	for _, id := range missing {
		errs = append(errs, errorEntry{Code: http.StatusNotFound, Message: "token not found", ID: id})
	}
	return errs
}

// existing splits ids into the tokens that exist and the ids that do not.
func existing(a *account, want []string) (found []*Token, missing []string) {
	for _, id := range want {
		if t, ok := a.tokens[id]; ok {
			found = append(found, t)
		} else {
			missing = append(missing, id)
		}
	}
	return found, missing
}

func (s *Simulator) readTokens(req *request, a *account) *response {
	want, res := tokenIDs(req.r)
	if res != nil {
		return res
	}
	found, missing := existing(a, want)
	if len(found) == 0 {
		return envelope(http.StatusNotFound, nil, notFound(missing))
	}
	out := make([]map[string]any, 0, len(found))
	for _, t := range found {
		out = append(out, s.tokenJSON(t, req.now))
	}
	errs := []errorEntry(nil)
	if len(missing) > 0 {
		errs = notFound(missing)
	}
	return envelope(http.StatusOK, out, errs)
}

func (s *Simulator) createToken(req *request, a *account) *response {
	body, res := decodeBody(req.r, tokenCreateFields)
	if res != nil {
		return res
	}
	label, res := s.label(body[fieldLabel])
	if res != nil {
		return res
	}
	exp, res := expiry(body[fieldExpiresTimestamp])
	if res != nil {
		return res
	}
	if exp != nil && !exp.After(req.now) {
		return badRequest("expires_timestamp must be in the future")
	}
	if !s.opts.DisableTokenCap && !a.settings.MaxActiveTokensUnset && a.activeTokens(req.now) >= a.settings.MaxActiveTokens {
		return envelope(http.StatusConflict, nil, apiError(http.StatusConflict, "maximum number of active installation tokens reached"))
	}
	t := a.createLocked(ptr.Deref(label, ""), exp, req.now)
	s.secrets[t.Value] = struct{}{}
	a.record(actionCreate, req.clientID, t.ID, "created through the API", req.now)
	return envelope(http.StatusCreated, []any{s.tokenJSON(t, req.now)}, nil)
}

func (s *Simulator) updateTokens(req *request, a *account) *response {
	want, res := tokenIDs(req.r)
	if res != nil {
		return res
	}
	body, res := decodePatch(req.r, tokenPatchFields)
	if res != nil {
		return res
	}
	label, res := s.label(body[fieldLabel])
	if res != nil {
		return res
	}
	raw, setExpiry := body[fieldExpiresTimestamp]
	exp, res := expiry(raw)
	if res != nil {
		return res
	}
	var revoked *bool
	if raw := body[fieldRevoked]; !nullOrAbsent(raw) {
		if err := json.Unmarshal(raw, &revoked); err != nil {
			return badRequest("revoked must be a boolean")
		}
	}
	found, missing := existing(a, want)
	if len(found) == 0 {
		return envelope(http.StatusNotFound, nil, notFound(missing))
	}
	out := make([]map[string]any, 0, len(found))
	for _, t := range found {
		if label != nil {
			t.Label = *label
		}
		if setExpiry {
			t.ExpiresAt = truncate(exp)
		}
		action := actionUpdate
		if revoked != nil && *revoked {
			t.Status, t.RevokedAt, action = statusRevoked, truncate(&req.now), actionRevoke
		} else if revoked != nil {
			t.Status, t.RevokedAt, action = statusValid, nil, actionRestore
		}
		a.record(action, req.clientID, t.ID, "changed through the API", req.now)
		out = append(out, s.tokenJSON(t, req.now))
	}
	var errs []errorEntry
	if len(missing) > 0 {
		errs = notFound(missing)
	}
	return envelope(http.StatusOK, out, errs)
}

func (s *Simulator) deleteTokens(req *request, a *account) *response {
	want, res := tokenIDs(req.r)
	if res != nil {
		return res
	}
	found, missing := existing(a, want)
	if len(found) == 0 {
		return envelope(http.StatusNotFound, nil, notFound(missing))
	}
	for _, t := range found {
		a.deleteLocked(t.ID)
		a.record(actionDelete, req.clientID, t.ID, "deleted through the API", req.now)
	}
	var errs []errorEntry
	if len(missing) > 0 {
		errs = notFound(missing)
	}
	return envelope(http.StatusOK, nil, errs)
}

func (s *Simulator) queryAudit(req *request, a *account) *response {
	limit, offset, res := page(req.r)
	if res != nil {
		return res
	}
	filter, res := parseFilterOn(req.r, func(field string) bool {
		_, known := auditField(AuditEvent{}, field)
		return known
	})
	if res != nil {
		return res
	}
	var out []string
	for _, e := range a.audit {
		if filter.matches(func(name string) (string, bool) { return auditField(e, name) }) {
			out = append(out, e.ID)
		}
	}
	if sort := req.r.URL.Query().Get("sort"); strings.HasSuffix(sort, "desc") {
		slices.Reverse(out)
	}
	return paged(out, limit, offset)
}

func auditField(e AuditEvent, field string) (string, bool) {
	switch field {
	case "action":
		return e.Action, true
	case "token_id":
		return e.TokenID, true
	case "actor":
		return e.Actor, true
	}
	return "", false
}

func (s *Simulator) readAudit(req *request, a *account) *response {
	want := ids(req.r)
	var out []map[string]any
	for _, e := range a.audit {
		if slices.Contains(want, e.ID) {
			out = append(out, map[string]any{
				"id": e.ID, "action": e.Action, "actor": e.Actor, "description": e.Description,
				"token_id": e.TokenID, "timestamp": formatTime(&e.Timestamp),
			})
		}
	}
	if len(out) == 0 {
		return envelope(http.StatusNotFound, nil, apiError(http.StatusNotFound, "audit event not found"))
	}
	return envelope(http.StatusOK, out, nil)
}

func (s *Simulator) updateSettings(req *request, a *account) *response {
	body, res := decodePatch(req.r, settingsPatchFields)
	if res != nil {
		return res
	}
	next := a.settings
	if raw, ok := body["tokens_required"]; ok {
		if err := json.Unmarshal(raw, &next.TokensRequired); err != nil {
			return badRequest("tokens_required must be a boolean")
		}
	}
	if raw, ok := body["max_active_tokens"]; ok {
		if err := json.Unmarshal(raw, &next.MaxActiveTokens); err != nil || next.MaxActiveTokens < 0 {
			return badRequest("max_active_tokens must be a non-negative integer")
		}
		next.MaxActiveTokensUnset = false
	}
	a.settings = next
	return envelope(http.StatusOK, []any{settingsJSON(next)}, nil)
}
