package scimhttp_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/app"
	"github.com/rosterhq/roster/internal/tenant"
)

// TestSharedAddressFailures sends, from one address as Entra and Okta do
// for all their customers, 1,000 requests with a stale credential
// interleaved with valid requests of two other tenants: the stale ones get
// 401 and, past the address's budget, 429, while every valid request
// succeeds, on SCIM and on the OAuth token endpoint.
func TestSharedAddressFailures(t *testing.T) {
	t.Parallel()
	const bad = 1000
	const budget = 30 // the default --auth-failures-per-client

	// probe sends one request and returns its status, or the negative
	// status when a 429 comes without Retry-After.
	type probe func(t *testing.T, e *env) int
	get := func(path, token string) probe {
		return func(t *testing.T, e *env) int {
			req, err := http.NewRequest("GET", e.srv.URL+path, nil)
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+token)
			return send(t, req)
		}
	}
	exchange := func(path, id, secret string) probe {
		return func(t *testing.T, e *env) int {
			form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}
			req, err := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(form.Encode()))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return send(t, req)
		}
	}

	for _, tc := range []struct {
		name string
		// probes returns the stale requests and the valid ones.
		probes func(t *testing.T, e *env, c creds) (stale, valid []probe)
	}{
		{
			name: "SecretTokens",
			probes: func(t *testing.T, e *env, c creds) (stale, valid []probe) {
				return []probe{
						get("/scim/v2/stale/Users", c.staleToken),
						get("/scim/v2/Users", c.staleToken),
						get("/scim/v2/stale/Users", "roster_0123456789abcdef_"+strings.Repeat("A", 43)),
						get("/scim/v2/Users", ""),
					}, []probe{
						get("/scim/v2/acme/Users", c.acmeToken),
						get("/scim/v2/globex/Users", c.globexToken),
						get("/scim/v2/Users", c.globexToken),
					}
			},
		},
		{
			name: "OAuthClients",
			probes: func(t *testing.T, e *env, c creds) (stale, valid []probe) {
				return []probe{
						exchange("/oauth/stale/token", c.staleClient, c.staleSecret),
						exchange("/oauth/token", c.staleClient, c.staleSecret),
						exchange("/oauth/token", c.acmeClient, "roster_cs_wrong"),
					}, []probe{
						exchange("/oauth/acme/token", c.acmeClient, c.acmeSecret),
						exchange("/oauth/token", c.globexClient, c.globexSecret),
					}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnvWith(t, app.Config{ClientAuthFailures: budget, TenantAuthFailures: 120})
			stale, valid := tc.probes(t, e, newCreds(t, e))
			statuses := map[int]int{}
			for i := range bad {
				statuses[stale[i%len(stale)](t, e)]++
				if i%4 == 0 {
					for j, v := range valid {
						require.Equal(t, 200, v(t, e), "valid request %d after %d stale ones", j, i+1)
					}
				}
			}
			require.Equal(t, bad, statuses[401]+statuses[429], "%v", statuses)
			require.LessOrEqual(t, statuses[401], budget, "%v", statuses)
			require.GreaterOrEqual(t, statuses[429], bad-budget, "%v", statuses)
		})
	}
}

// creds are the credentials of three tenants: acme and globex, which are
// valid, and stale, whose token and OAuth client were revoked.
type creds struct {
	acmeToken, globexToken, staleToken                 string
	acmeClient, acmeSecret, globexClient, globexSecret string
	staleClient, staleSecret                           string
}

func newCreds(t *testing.T, e *env) creds {
	t.Helper()
	ctx := context.Background()
	var c creds
	for _, name := range []string{"acme", "globex", "stale"} {
		_, err := e.tenants.Create(ctx, name, "test")
		require.NoError(t, err)
		tok, err := e.tenants.IssueToken(ctx, name, tenant.TokenRequest{Label: "idp", CreatedBy: "test"})
		require.NoError(t, err)
		client, secret, err := e.tenants.CreateOAuthClient(ctx, name, "idp", "test")
		require.NoError(t, err)
		switch name {
		case "acme":
			c.acmeToken, c.acmeClient, c.acmeSecret = tok.Plaintext, client.ID, secret
		case "globex":
			c.globexToken, c.globexClient, c.globexSecret = tok.Plaintext, client.ID, secret
		case "stale":
			c.staleToken, c.staleClient, c.staleSecret = tok.Plaintext, client.ID, secret
			require.NoError(t, e.tenants.RevokeToken(ctx, name, tok.Token.ID, "test"))
			require.NoError(t, e.tenants.RevokeOAuthClient(ctx, name, client.ID, "test"))
		}
	}
	return c
}

// send sends req and returns its status, or the negative status when a 429
// comes without Retry-After.
func send(t *testing.T, req *http.Request) int {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode == http.StatusTooManyRequests && res.Header.Get("Retry-After") == "" {
		return -res.StatusCode
	}
	return res.StatusCode
}
