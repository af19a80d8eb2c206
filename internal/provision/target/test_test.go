package target_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/provision/job"
	"github.com/rosterhq/roster/internal/provision/source"
	"github.com/rosterhq/roster/internal/provision/target"
)

// scimServer answers every request with the status and body.
func scimServer(t *testing.T, status int, contentType, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

const scimType = "application/scim+json"

func scimError(status int) string {
	return fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"%d","detail":"no"}`, status)
}

// TestConnection checks Test's outcomes against a real Roster and against
// servers that fail the way apps and networks do.
func TestConnection(t *testing.T) {
	t.Parallel()
	r := setupRoster(t, "sqlite")

	// What Test sends: the matching attribute, a random GUID, %20 not +.
	var query atomic.Value
	seen := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		query.Store(req.URL.RawQuery)
		w.Header().Set("Content-Type", scimType)
		fmt.Fprint(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0,"Resources":[]}`)
	}))
	t.Cleanup(seen.Close)
	tg, err := target.New(target.Options{URL: seen.URL + "/scim", Token: "t"})
	require.NoError(t, err)
	require.NoError(t, tg.Test(context.Background(), "externalId"))
	require.Regexp(t, `^filter=externalId%20eq%20%22[0-9a-f-]{36}%22$`, query.Load())

	// A closed listener's address: connection refused.
	down, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	downURL := "http://" + down.Addr().String() + "/scim"
	require.NoError(t, down.Close())

	// A handler that answers after the timeout.
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-req.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)

	// TLS with a certificate the client does not trust.
	untrusted := httptest.NewUnstartedServer(http.NotFoundHandler())
	untrusted.Config.ErrorLog = log.New(io.Discard, "", 0)
	untrusted.StartTLS()
	t.Cleanup(untrusted.Close)

	// An OAuth token endpoint that refuses the client.
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":"invalid_client"}`)
	}))
	t.Cleanup(tokens.Close)
	badOAuth := target.ClientCredentials(job.OAuthClient{TokenURL: tokens.URL, ClientID: "id", ClientSecret: "s3cret"}, nil)

	for _, tc := range []struct {
		name    string
		url     string
		token   string
		tokens  func(context.Context) (string, error)
		timeout time.Duration
		cause   source.Cause
		status  int
		says    string
	}{
		{name: "Good", url: r.tenant},
		{name: "WrongToken", url: r.tenant, token: "roster_nope_nope", cause: source.CauseCredentials, status: 401, says: "Secret Token"},
		{name: "Forbidden", url: scimServer(t, 403, scimType, scimError(403)).URL, cause: source.CauseCredentials, status: 403, says: "refused the token (403)"},
		{name: "Forbidden HTML", url: scimServer(t, 403, "text/html", "<html><title>Blocked</title></html>").URL, cause: source.CauseCredentials, status: 403, says: "Secret Token"},
		{name: "WrongPath", url: r.base + "/scim/v1/default", cause: source.CauseAddress, status: 404, says: "Tenant URL's path"},
		{name: "NotFound", url: scimServer(t, 404, scimType, scimError(404)).URL, cause: source.CauseAddress, status: 404, says: "Tenant URL's path"},
		{name: "ServerError", url: scimServer(t, 503, "text/plain", "down").URL, cause: source.CauseServer, status: 503, says: "reported an error (503)"},
		{name: "BadRequest", url: scimServer(t, 400, scimType, scimError(400)).URL, cause: source.CauseProtocol, status: 400, says: "filtering on userName"},
		{name: "Refused", url: downURL, cause: source.CauseUnreachable, says: "connection refused"},
		{name: "Timeout", url: slow.URL, timeout: 200 * time.Millisecond, cause: source.CauseTimeout, says: "did not answer in time"},
		{name: "UntrustedTLS", url: untrusted.URL + "/scim", cause: source.CauseTLS, says: "certificate"},
		{name: "TLSToPlainHTTP", url: strings.Replace(r.tenant, "http://", "https://", 1), cause: source.CauseTLS, says: "plain HTTP"},
		{name: "HTML", url: scimServer(t, 200, "text/html", "<html><body>Welcome</body></html>").URL, cause: source.CauseProtocol, status: 200, says: "not with a SCIM ListResponse"},
		{name: "JSONNotList", url: scimServer(t, 200, "application/json", `{"ok":true}`).URL, cause: source.CauseProtocol, status: 200, says: "not with a SCIM ListResponse"},
		{name: "MatchesRandom", url: scimServer(t, 200, scimType, `{"totalResults":2,"Resources":[{"id":"1"},{"id":"2"}]}`).URL, cause: source.CauseProtocol, status: 200, says: "returned 2 user(s) for a random userName"},
		{name: "OAuthRefused", url: r.tenant, tokens: badOAuth, cause: source.CauseCredentials, says: "OAuth token endpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := target.Options{URL: tc.url, Token: tc.token, TokenSource: tc.tokens, Timeout: tc.timeout}
			if o.Token == "" && o.TokenSource == nil {
				o.Token = r.token
			}
			tg, err := target.New(o)
			require.NoError(t, err)
			start := time.Now()
			err = tg.Test(context.Background(), "")
			require.Less(t, time.Since(start), 4*time.Second, "sent once, not retried")
			if tc.cause == "" {
				require.NoError(t, err)
				return
			}
			var te *target.TestError
			require.ErrorAs(t, err, &te)
			require.Equal(t, tc.cause, te.Cause, "%v", err)
			require.Equal(t, tc.status, te.Status, "%v", err)
			require.Contains(t, te.Message, tc.says)
			require.NotContains(t, err.Error(), r.token, "the token never appears in a message")
			require.NotContains(t, err.Error(), "s3cret")
		})
	}
}

// TestSchemaWarningsWithoutSchemas: an app that serves no /Schemas, or
// not as a list, gets one warning, not an error.
func TestSchemaWarningsWithoutSchemas(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		srv    *httptest.Server
		says   string
		status int
	}{
		{name: "NotFound", srv: scimServer(t, 404, scimType, scimError(404)), says: "answered 404"},
		{name: "HTML", srv: scimServer(t, 200, "text/html", "<html></html>"), says: "did not answer with a list"},
		{name: "Empty", srv: scimServer(t, 200, scimType, `{"totalResults":0,"Resources":[]}`), says: "lists no schema"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tg, err := target.New(target.Options{URL: tc.srv.URL, Token: "t"})
			require.NoError(t, err)
			w, err := tg.SchemaWarnings(context.Background(), "User", []string{"userName", "urn:example:custom:foo"})
			require.NoError(t, err)
			require.Len(t, w, 1)
			require.Contains(t, w[0], tc.says)
		})
	}
}

// TestSchemaWarningsWithoutResourceTypes: /Schemas as a bare array and no
// /ResourceTypes; the RFC core schema of the type is assumed.
func TestSchemaWarningsWithoutResourceTypes(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", scimType)
		if !strings.HasSuffix(req.URL.Path, "/Schemas") {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, scimError(404))
			return
		}
		fmt.Fprint(w, `[
		 {"id":"urn:ietf:params:scim:schemas:core:2.0:User","attributes":[
		   {"name":"userName","type":"string"},
		   {"name":"name","type":"complex","subAttributes":[{"name":"givenName","type":"string"}]},
		   {"name":"emails","type":"complex","multiValued":true,"subAttributes":[{"name":"value"},{"name":"type"}]}]},
		 {"id":"urn:acme:2.0:User","attributes":[{"name":"badge","type":"string"}]}]`)
	}))
	t.Cleanup(srv.Close)
	tg, err := target.New(target.Options{URL: srv.URL, Token: "t"})
	require.NoError(t, err)
	w, err := tg.SchemaWarnings(context.Background(), "User", []string{
		"userName", "name.givenName", `emails[type eq "work"].value`, "urn:acme:2.0:User:badge", "badge",
		"title", "userName.first", "name.familyName",
	})
	require.NoError(t, err)
	require.Len(t, w, 3, "%q", w)
	require.Contains(t, w[0], "no attribute title")
	require.Contains(t, w[1], "not complex")
	require.Contains(t, w[2], "no sub-attribute familyName")

	w, err = tg.SchemaWarnings(context.Background(), "Group", []string{"displayName"})
	require.NoError(t, err)
	require.Len(t, w, 1)
	require.Contains(t, w[0], "no Group schema")
}
