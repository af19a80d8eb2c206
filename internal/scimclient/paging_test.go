package scimclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/scimclient"
)

// pager serves /Users from a list of ids, shaped by its knobs.
type pager struct {
	ids []string
	// short caps each page below the count asked for.
	short func(start int) int
	// total reports totalResults for a page; nil reports len(ids).
	total func(page int) *int
	// noItemsPerPage leaves itemsPerPage out.
	noItemsPerPage bool
	// ignoreStart always serves from the first item.
	ignoreStart bool
}

func (p *pager) handle(n int, w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	start, _ := strconv.Atoi(q.Get("startIndex"))
	count, _ := strconv.Atoi(q.Get("count"))
	start = max(start, 1)
	if p.ignoreStart {
		start = 1
	}
	if count == 0 {
		count = 1000
	}
	if p.short != nil {
		count = min(count, p.short(start))
	}
	from := min(start-1, len(p.ids))
	to := min(from+count, len(p.ids))
	res := []any{}
	for _, id := range p.ids[from:to] {
		res = append(res, map[string]any{"id": id})
	}
	body := map[string]any{
		"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:ListResponse"},
		"startIndex": start,
		"Resources":  res,
	}
	if !p.noItemsPerPage {
		body["itemsPerPage"] = len(res)
	}
	total := len(p.ids)
	if p.total != nil {
		if t := p.total(n); t != nil {
			body["totalResults"] = *t
		}
	} else {
		body["totalResults"] = total
	}
	w.Header().Set("Content-Type", "application/scim+json")
	_ = json.NewEncoder(w).Encode(body)
}

func ids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("u%02d", i+1)
	}
	return out
}

func intp(n int) *int { return &n }

func TestWalk(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		p        *pager
		count    int
		want     []string
		requests int
		err      error
	}{
		{name: "EvenPages", p: &pager{ids: ids(10)}, count: 5, want: ids(10), requests: 2},
		{name: "LastPagePartial", p: &pager{ids: ids(11)}, count: 5, want: ids(11), requests: 3},
		{
			name: "UnevenShortPages", count: 5, want: ids(12), requests: 6,
			// The server serves at most 2 items per page, whatever it is asked.
			p: &pager{ids: ids(12), short: func(int) int { return 2 }},
		},
		{
			name: "VaryingPageSizes", count: 10, want: ids(20), requests: 4,
			p: &pager{ids: ids(20), short: func(start int) int { return 3 + start%5 }},
		},
		{name: "MissingItemsPerPage", p: &pager{ids: ids(7), noItemsPerPage: true}, count: 3, want: ids(7), requests: 3},
		{
			name: "MissingTotalResults", count: 3, want: ids(7), requests: 3,
			p: &pager{ids: ids(7), total: func(int) *int { return nil }},
		},
		{
			name: "MissingTotalResultsFullLastPage", count: 3, want: ids(6), requests: 3,
			p: &pager{ids: ids(6), total: func(int) *int { return nil }},
		},
		{
			// The total shrinks while paging: the walk trusts the latest.
			name: "TotalShrinks", count: 4, want: ids(8), requests: 2,
			p: &pager{ids: ids(12), total: func(page int) *int { return intp(12 - 4*(page-1)) }},
		},
		{
			// The total grows while paging and more items are served.
			name: "TotalGrows", count: 4, want: ids(12), requests: 3,
			p: &pager{ids: ids(12), total: func(page int) *int { return intp(min(12, 4+4*page)) }},
		},
		{
			// The total overstates what exists: an empty page ends the walk.
			name: "TotalOverstated", count: 5, want: ids(6), requests: 3,
			p: &pager{ids: ids(6), total: func(int) *int { return intp(100) }},
		},
		{
			// The server serves at most 2 items per page and leaves out
			// totalResults: its itemsPerPage tells a capped page from the
			// last, which holds fewer than the pages before it.
			name: "CappedCountNoTotalResults", count: 5, want: ids(7), requests: 4,
			p: &pager{ids: ids(7), short: func(int) int { return 2 }, total: func(int) *int { return nil }},
		},
		{
			name: "CappedCountNoTotalResultsFullLastPage", count: 5, want: ids(6), requests: 4,
			p: &pager{ids: ids(6), short: func(int) int { return 2 }, total: func(int) *int { return nil }},
		},
		{
			// Neither totalResults nor itemsPerPage: only an empty page
			// ends the walk.
			name: "CappedCountNoTotalResultsNoItemsPerPage", count: 5, want: ids(7), requests: 5,
			p: &pager{ids: ids(7), short: func(int) int { return 2 }, total: func(int) *int { return nil }, noItemsPerPage: true},
		},
		{
			// A first page shorter than asked could be capped: one more
			// request makes sure.
			name: "ShortListNoTotalResults", count: 5, want: ids(2), requests: 2,
			p: &pager{ids: ids(2), total: func(int) *int { return nil }},
		},
		{
			name: "CappedCountIgnoresStartIndex", count: 5, want: ids(2), requests: 2, err: scimclient.ErrPagingStuck,
			p: &pager{ids: ids(10), short: func(int) int { return 2 }, total: func(int) *int { return nil }, noItemsPerPage: true, ignoreStart: true},
		},
		{name: "Empty", p: &pager{ids: nil}, count: 5, requests: 1},
		{name: "IgnoresStartIndex", p: &pager{ids: ids(10), ignoreStart: true}, count: 5, want: ids(5), requests: 2, err: scimclient.ErrPagingStuck},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, n := serve(t, scimclient.Options{Retry: scimclient.NoRetry}, tc.p.handle)
			var got []string
			err := c.Walk(context.Background(), scimclient.Users, scimclient.ListOptions{Count: tc.count}, func(raw json.RawMessage) error {
				var r struct{ ID string }
				require.NoError(t, json.Unmarshal(raw, &r))
				got = append(got, r.ID)
				return nil
			})
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, tc.want, got)
			require.Equal(t, tc.requests, int(n.Load()))
		})
	}
}

func TestAll(t *testing.T) {
	t.Parallel()
	p := &pager{ids: ids(9)}
	c, n := serve(t, scimclient.Options{}, p.handle)
	var got int
	for raw, err := range c.All(context.Background(), scimclient.Users, scimclient.ListOptions{Count: 2}) {
		require.NoError(t, err)
		require.NotEmpty(t, raw)
		got++
		if got == 3 {
			break // the walk stops with the loop: no more pages are read
		}
	}
	require.Equal(t, 3, got)
	require.Equal(t, 2, int(n.Load()))

	// An error of the callback stops Walk and comes back unchanged.
	stop := errors.New("enough")
	err := c.Walk(context.Background(), scimclient.Users, scimclient.ListOptions{}, func(json.RawMessage) error { return stop })
	require.ErrorIs(t, err, stop)
}
