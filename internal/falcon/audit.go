package falcon

import (
	"context"
	"time"
)

const (
	auditEventsQueryPath  = "/installation-tokens/queries/audit-events/v1"
	auditEventsEntityPath = "/installation-tokens/entities/audit-events/v1"
)

// AuditEvent is one entry of the installation-token audit log, e.g. Action "token_create".
type AuditEvent struct {
	ID, TokenID, Action, Actor, Description string
	Timestamp                               time.Time
}

type auditEventJSON struct {
	ID          string  `json:"id"`
	TokenID     string  `json:"token_id"`
	Action      string  `json:"action"`
	Actor       string  `json:"actor"`
	Description string  `json:"description"`
	Timestamp   apiTime `json:"timestamp"`
}

func (w auditEventJSON) event() AuditEvent {
	return AuditEvent{ID: w.ID, TokenID: w.TokenID, Action: w.Action, Actor: w.Actor, Description: w.Description, Timestamp: w.Timestamp.value()}
}

// QueryAuditEventIDs returns one page of audit event IDs (filter e.g. action:'token_create')
// and the total number matching.
func (c *Client) QueryAuditEventIDs(ctx context.Context, q TokenQuery) ([]string, int, error) {
	return c.queryIDs(ctx, opAuditEventsQuery, auditEventsQueryPath, q)
}

// GetAuditEvents reads audit events by ID, up to 100 per request; unknown IDs are left out.
func (c *Client) GetAuditEvents(ctx context.Context, ids []string) ([]AuditEvent, error) {
	return readEntities(ctx, c, opAuditEventsRead, auditEventsEntityPath, ids, auditEventJSON.event)
}
