package falcon

import (
	"context"
	"slices"
	"strings"
)

// A token carries its owner's marker at the end of its label, in brackets ("team/sensors
// [fto-0a1b2c3d4e]"): the marker finds a token whose create reply was lost, and duplicates.

// MarkLabel returns label carrying marker.
func MarkLabel(label, marker string) string { return label + " [" + marker + "]" }

// LabelMarker returns the marker label carries: what stands in brackets at its end.
func LabelMarker(label string) (string, bool) {
	rest, closed := strings.CutSuffix(label, "]")
	open := strings.LastIndex(rest, "[")
	if !closed || open < 0 {
		return "", false
	}
	return rest[open+1:], true
}

// HasMarker reports whether label carries exactly marker: "[marker]" at its end.
func HasMarker(label, marker string) bool {
	found, ok := LabelMarker(label)
	return ok && found == marker
}

// FindTokensByMarker returns the tokens, of any status, whose label carries marker exactly,
// oldest first.
func (c *Client) FindTokensByMarker(ctx context.Context, marker string) ([]Token, error) {
	ids, err := c.queryAllTokenIDs(ctx, "label:*"+QuoteFQL("*"+marker+"*"))
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	tokens, err := c.GetTokens(ctx, ids)
	if err != nil {
		return nil, err
	}
	marked := slices.DeleteFunc(tokens, func(t Token) bool { return !HasMarker(t.Label, marker) })
	slices.SortStableFunc(marked, func(a, b Token) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return marked, nil
}

// FindValidMarkedTokenIDs returns the IDs of the valid tokens whose label contains
// "[<markerPrefix>": every token any owner of that marker family labelled, for a search for
// duplicates.
func (c *Client) FindValidMarkedTokenIDs(ctx context.Context, markerPrefix string) ([]string, error) {
	return c.queryAllTokenIDs(ctx, validTokensFilter+"+label:*"+QuoteFQL("*["+markerPrefix+"*"))
}
