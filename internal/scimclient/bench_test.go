package scimclient_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/scimclient"
)

// BenchmarkDo compares a request through the client with the same request
// through bare net/http, as the load tool sent it before: the difference
// is what the client costs a load run.
func BenchmarkDo(b *testing.B) {
	resp := []byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":1,"Resources":[{"id":"` +
		strings.Repeat("x", 2000) + `"}]}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", scimclient.MediaType)
		_, _ = w.Write(resp)
	}))
	b.Cleanup(srv.Close)
	body := []byte(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bench@example.com"}`)
	ctx := context.Background()

	b.Run("NetHTTP", func(b *testing.B) {
		hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/Users", bytes.NewReader(body))
				require.NoError(b, err)
				req.Header.Set("Authorization", "Bearer token")
				req.Header.Set("Content-Type", scimclient.MediaType)
				res, err := hc.Do(req)
				require.NoError(b, err)
				_, err = io.ReadAll(res.Body)
				require.NoError(b, err)
				res.Body.Close()
			}
		})
	})
	b.Run("Client", func(b *testing.B) {
		c, err := scimclient.New(srv.URL, scimclient.Options{Token: "token", Retry: scimclient.NoRetry, MaxIdleConnsPerHost: 16})
		require.NoError(b, err)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				res, err := c.Do(ctx, scimclient.Request{Method: http.MethodPost, Path: "/Users", Body: body})
				require.NoError(b, err)
				require.Equal(b, http.StatusOK, res.Status)
			}
		})
	})
}
