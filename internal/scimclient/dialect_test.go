package scimclient_test

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/scimclient"
)

// TestPatchBody shapes one set of neutral ops in every dialect and compares
// with the wire forms IDP-NOTES §1.3–1.5 and §2.1 record.
func TestPatchBody(t *testing.T) {
	t.Parallel()
	ops := []scimclient.Op{
		scimclient.Replace(`emails[type eq "work"].value`, "new@example.com"),
		scimclient.Replace("name.givenName", "Ann"),
		scimclient.Replace("active", false),
		scimclient.Add("nickName", "Babs"),
		scimclient.RemoveMembers("u1", "u2"),
	}
	const head = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[`
	for _, tc := range []struct {
		name    string
		dialect scimclient.Dialect
		want    string
	}{
		{"RFC", scimclient.RFC, head +
			`{"op":"replace","path":"emails[type eq \"work\"].value","value":"new@example.com"},` +
			`{"op":"replace","path":"name.givenName","value":"Ann"},` +
			`{"op":"replace","path":"active","value":false},` +
			`{"op":"add","path":"nickName","value":"Babs"},` +
			`{"op":"remove","path":"members[value eq \"u1\"]"},` +
			`{"op":"remove","path":"members[value eq \"u2\"]"}]}`},
		{"Entra", scimclient.Entra, head +
			`{"op":"Replace","path":"emails[type eq \"work\"].value","value":"new@example.com"},` +
			`{"op":"Replace","path":"name.givenName","value":"Ann"},` +
			`{"op":"Replace","path":"active","value":"False"},` +
			`{"op":"Add","path":"nickName","value":"Babs"},` +
			`{"op":"Remove","path":"members","value":[{"$ref":null,"value":"u1"},{"$ref":null,"value":"u2"}]}]}`},
		{"EntraSCIM062020", scimclient.EntraSCIM062020, head +
			`{"op":"replace","path":"emails[type eq \"work\"].value","value":"new@example.com"},` +
			`{"op":"replace","value":{"name.givenName":"Ann","active":false}},` +
			`{"op":"add","path":"nickName","value":"Babs"},` +
			`{"op":"remove","path":"members[value eq \"u1\"]"},` +
			`{"op":"remove","path":"members[value eq \"u2\"]"}]}`},
		{"Okta", scimclient.Okta, head +
			`{"op":"replace","path":"emails[type eq \"work\"].value","value":"new@example.com"},` +
			`{"op":"replace","value":{"name.givenName":"Ann","active":false}},` +
			`{"op":"add","path":"nickName","value":"Babs"},` +
			`{"op":"remove","path":"members[value eq \"u1\"]"},` +
			`{"op":"remove","path":"members[value eq \"u2\"]"}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.dialect.PatchBody(ops...)
			require.NoError(t, err)
			require.JSONEq(t, tc.want, string(got))
		})
	}
}

// TestPatchBodyMembersAdd pins Entra's member add with "$ref":null and
// Okta's path-less deactivate.
func TestPatchBodyMembersAdd(t *testing.T) {
	t.Parallel()
	got, err := scimclient.Entra.PatchBody(scimclient.AddMembers("u1"))
	require.NoError(t, err)
	require.JSONEq(t, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"members","value":[{"$ref":null,"value":"u1"}]}]}`, string(got))
	got, err = scimclient.Okta.PatchBody(scimclient.Replace("active", false))
	require.NoError(t, err)
	require.JSONEq(t, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`, string(got))
}

// request is what a dialect test server saw.
type request struct {
	method, path, userAgent string
	query                   url.Values
	hasUserAgent            bool
}

// TestDialectRequests checks the query parameters, methods and headers
// each dialect sends for the same calls.
func TestDialectRequests(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		dialect scimclient.Dialect
		check   func(t *testing.T, seen []request)
	}{
		{"Entra", scimclient.Entra, func(t *testing.T, seen []request) {
			require.Equal(t, "members", seen[0].query.Get("excludedAttributes"), "group GET without members")
			require.Equal(t, url.Values{"filter": {`userName eq "a"`}}, seen[1].query, "no paging on a filter query")
			require.Equal(t, http.MethodPatch, seen[2].method, "updates are PATCHes")
		}},
		{"Okta", scimclient.Okta, func(t *testing.T, seen []request) {
			require.Empty(t, seen[0].query.Get("excludedAttributes"))
			require.Equal(t, url.Values{"filter": {`userName eq "a"`}, "startIndex": {"1"}, "count": {"100"}}, seen[1].query)
			require.Equal(t, http.MethodPut, seen[2].method, "profile updates are PUTs")
			require.Equal(t, "Okta SCIM Client 1.0.0", seen[0].userAgent)
		}},
		{"NoUserAgent", scimclient.Dialect{Name: "bare", NoUserAgent: true}, func(t *testing.T, seen []request) {
			require.False(t, seen[0].hasUserAgent)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var (
				mu   sync.Mutex
				seen []request
			)
			c, _ := serve(t, scimclient.Options{Dialect: tc.dialect}, func(_ int, w http.ResponseWriter, r *http.Request) {
				_, ok := r.Header["User-Agent"]
				mu.Lock()
				seen = append(seen, request{r.Method, r.URL.Path, r.UserAgent(), r.URL.Query(), ok})
				mu.Unlock()
				switch r.Method {
				case http.MethodGet:
					if r.URL.Query().Has("filter") {
						_, _ = w.Write([]byte(`{"totalResults":0,"Resources":[]}`))
						return
					}
					_, _ = w.Write([]byte(`{"id":"g1"}`))
				default:
					_, _ = w.Write([]byte(`{"id":"u1"}`))
				}
			})
			ctx := context.Background()
			_, err := c.Get(ctx, scimclient.Groups, "g1", scimclient.Attributes{})
			require.NoError(t, err)
			_, err = c.List(ctx, scimclient.Users, scimclient.ListOptions{Filter: `userName eq "a"`})
			require.NoError(t, err)
			_, err = c.Update(ctx, scimclient.Users, "u1", map[string]any{"userName": "a"}, scimclient.Replace("title", "x"))
			require.NoError(t, err)
			mu.Lock()
			defer mu.Unlock()
			tc.check(t, seen)
		})
	}
}

// TestEntraFlagInTenantURL requires Entra's feature flag to select the
// dialect and stay out of the requests.
func TestEntraFlagInTenantURL(t *testing.T) {
	t.Parallel()
	c, err := scimclient.New("https://scim.example.com/scim?aadOptscim062020", scimclient.Options{Dialect: scimclient.Entra})
	require.NoError(t, err)
	require.Equal(t, "https://scim.example.com/scim", c.URL())
	require.Equal(t, scimclient.EntraSCIM062020.Name, c.Dialect().Name)

	c, err = scimclient.New("https://scim.example.com/scim?aadOptscim062020", scimclient.Options{})
	require.NoError(t, err)
	require.Equal(t, scimclient.RFC.Name, c.Dialect().Name, "only the Entra dialects read Entra's flags")
}
