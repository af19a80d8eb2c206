package validate

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/scimclient"
)

// TestRecordRedactsCheckHeaders requires a report to show the headers a
// check set itself from the redacted capture, so that a check sending its
// own credentials never prints them.
func TestRecordRedactsCheckHeaders(t *testing.T) {
	t.Parallel()
	const secret = "check-s3cret"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(srv.Close)
	c, err := newClient(srv.URL+"/scim/v2/default", "client-token", srv.Client())
	require.NoError(t, err)
	_, err = c.do(context.Background(), http.MethodGet, "/Users", nil,
		"Authorization", "Bearer "+secret, "x-api-key", secret, "If-Match", `W/"1"`)
	require.NoError(t, err)
	require.Equal(t, map[string]string{
		"Authorization": scimclient.Redacted,
		"X-Api-Key":     scimclient.Redacted,
		"If-Match":      `W/"1"`,
	}, c.lastReq.Header)
	text := exchange(Result{Request: c.lastReq, Response: c.lastResp})
	require.NotContains(t, text, secret)
	require.Contains(t, text, `If-Match: W/"1"`)
}
