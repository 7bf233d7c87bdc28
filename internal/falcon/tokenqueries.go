package falcon

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

const (
	// maxQueryLimit is the API's largest page.
	maxQueryLimit = 1000
	// sortOldestFirst pages in creation order, so tokens created meanwhile land on later pages.
	sortOldestFirst = "created_timestamp.asc"
)

// validTokensFilter selects the tokens that are neither revoked nor expired.
var validTokensFilter = "status:" + QuoteFQL(TokenStatusValid)

// TokenQuery selects IDs: an FQL filter (quote values with QuoteFQL), a sort such as
// "created_timestamp.desc", and a page (Limit 0 = the API's default of 50).
type TokenQuery struct {
	Filter, Sort  string
	Limit, Offset int
}

func (q TokenQuery) values() url.Values {
	v := url.Values{}
	if q.Filter != "" {
		v.Set("filter", q.Filter)
	}
	if q.Sort != "" {
		v.Set("sort", q.Sort)
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Offset > 0 {
		v.Set("offset", strconv.Itoa(q.Offset))
	}
	return v
}

// CountValidTokens is the number of valid tokens of the account (what max_active_tokens caps),
// from one query for a single ID.
func (c *Client) CountValidTokens(ctx context.Context) (int, error) {
	_, meta, err := c.queryPage(ctx, opTokensQuery, tokensQueryPath, TokenQuery{Filter: validTokensFilter, Limit: 1})
	if err != nil {
		return 0, err
	}
	total, known := meta.total()
	if !known {
		return 0, missingResource(opTokensQuery, "pagination total")
	}
	return total, nil
}

// queryAllTokenIDs returns every matching token ID, paging 1000 at a time.
func (c *Client) queryAllTokenIDs(ctx context.Context, filter string) ([]string, error) {
	var all []string
	for {
		q := TokenQuery{Filter: filter, Sort: sortOldestFirst, Limit: maxQueryLimit, Offset: len(all)}
		ids, meta, err := c.queryPage(ctx, opTokensQuery, tokensQueryPath, q)
		if err != nil {
			return nil, err
		}
		all = append(all, ids...)
		// Without a total in the reply, a short page is the last one.
		total, known := meta.total()
		if len(ids) == 0 || (known && len(all) >= total) || (!known && len(ids) < maxQueryLimit) {
			return all, nil
		}
	}
}

func (c *Client) queryIDs(ctx context.Context, op, path string, q TokenQuery) ([]string, int, error) {
	ids, meta, err := c.queryPage(ctx, op, path, q)
	if err != nil {
		return nil, 0, err
	}
	total, known := meta.total()
	if !known {
		total = q.Offset + len(ids)
	}
	return ids, total, nil
}

func (c *Client) queryPage(ctx context.Context, op, path string, q TokenQuery) ([]string, replyMeta, error) {
	var ids []string
	meta, err := c.do(ctx, request{op: op, method: http.MethodGet, path: path, query: q.values()}, &ids)
	return ids, meta, err
}
