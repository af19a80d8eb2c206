package pushhttp_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/provision/push"
	"github.com/rosterhq/roster/internal/server/guard"
	"github.com/rosterhq/roster/internal/server/pushhttp"
)

// TestFailedTokensLimited: wrong push tokens from one address are counted
// by the failure limiter and get 429 past its budget, while the job's
// valid token still passes from that address.
func TestFailedTokensLimited(t *testing.T) {
	w := newWorld(t, "sqlite", "hr")
	h := pushhttp.New(pushhttp.Config{Push: push.New(w.host.Store), Failures: guard.NewFailureLimiter(6, 3)})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	get := func(token string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/provisioning/jobs/hr/bulkUpload", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	var codes []int
	for range 5 {
		codes = append(codes, get("roster_pt_0000000000000000_wrong").StatusCode)
	}
	require.Equal(t, []int{401, 401, 429, 429, 429}, codes, "a budget of 3 failures")
	resp := get("roster_pt_0000000000000000_wrong")
	require.NotEmpty(t, resp.Header.Get("Retry-After"))
	require.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "application/scim+json"), resp.Header.Get("Content-Type"))
	require.Equal(t, http.StatusOK, get(w.tokens["hr"]).StatusCode, "a valid token passes from a blocked address")
}
