package scimclient_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/app"
	"github.com/rosterhq/roster/internal/scim/scimerr"
	"github.com/rosterhq/roster/internal/scimclient"
	"github.com/rosterhq/roster/internal/store/sqlite"
)

// rosterBundle is a real Roster on a fresh SQLite file, reached over HTTP.
type rosterBundle struct {
	tenantURL string
	token     string
}

func setupRoster(t *testing.T) *rosterBundle {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "roster.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	r, err := app.New(ctx, app.Config{}, st)
	require.NoError(t, err)
	t.Cleanup(r.Close)
	_, issued, err := r.Tenants.Bootstrap(ctx, "default", "")
	require.NoError(t, err)
	srv := httptest.NewServer(r.Handler)
	t.Cleanup(srv.Close)
	return &rosterBundle{tenantURL: srv.URL + "/scim/v2/default", token: issued.Plaintext}
}

func user(name string) map[string]any {
	return map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": name,
		"active":   true,
		"name":     map[string]any{"givenName": "Ann", "familyName": "Lee"},
		"emails":   []any{map[string]any{"type": "work", "value": name, "primary": true}},
	}
}

// TestAgainstRoster drives the typed helpers against a real Roster in every
// dialect: Roster accepts all of them (IDP-NOTES §1.4), so each dialect's
// writes must land.
func TestAgainstRoster(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		dialect scimclient.Dialect
	}{
		{"RFC", scimclient.RFC},
		{"Entra", scimclient.Entra},
		{"EntraSCIM062020", scimclient.EntraSCIM062020},
		{"Okta", scimclient.Okta},
	} {
		d := tc.dialect
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setupRoster(t)
			ctx := context.Background()
			c, err := scimclient.New(b.tenantURL, scimclient.Options{Token: b.token, Dialect: d})
			require.NoError(t, err)

			// Create five users and page through them two at a time.
			var ids []string
			for i := range 5 {
				u, err := c.Create(ctx, scimclient.Users, user(fmt.Sprintf("user%d@example.com", i)))
				require.NoError(t, err)
				require.NotEmpty(t, u.ID)
				ids = append(ids, u.ID)
			}
			var walked []string
			err = c.Walk(ctx, scimclient.Users, scimclient.ListOptions{Count: 2, Attributes: scimclient.Attributes{Attributes: []string{"userName"}}},
				func(raw json.RawMessage) error {
					var u struct{ ID, UserName string }
					if err := json.Unmarshal(raw, &u); err != nil {
						return err
					}
					walked = append(walked, u.ID)
					return nil
				})
			require.NoError(t, err)
			require.ElementsMatch(t, ids, walked)

			// A duplicate is the protocol core's uniqueness error.
			_, err = c.Create(ctx, scimclient.Users, user("user0@example.com"))
			require.Equal(t, scimerr.TypeUniqueness, scimerr.As(err).ScimType)
			require.Equal(t, http.StatusConflict, scimclient.StatusOf(err))

			// Matching query, case-insensitive on userName.
			page, err := c.List(ctx, scimclient.Users, scimclient.ListOptions{Filter: `userName eq "USER1@example.com"`})
			require.NoError(t, err)
			require.Equal(t, 1, *page.TotalResults)

			// The same through POST /.search.
			page, err = c.Search(ctx, scimclient.Users, scimclient.ListOptions{Filter: `userName sw "user"`, Count: 2})
			require.NoError(t, err)
			require.Equal(t, 5, *page.TotalResults)
			require.Len(t, page.Resources, 2)

			// Update and disable in the dialect's shape, then read back.
			desired := user("user1@example.com")
			desired["title"], desired["active"] = "Engineer", false
			_, err = c.Update(ctx, scimclient.Users, ids[1], desired,
				scimclient.Replace("title", "Engineer"), scimclient.Replace("active", false))
			require.NoError(t, err)
			got, err := c.Get(ctx, scimclient.Users, ids[1], scimclient.Attributes{})
			require.NoError(t, err)
			var doc struct {
				Title  string
				Active bool
			}
			require.NoError(t, json.Unmarshal(got.Raw, &doc))
			require.Equal(t, "Engineer", doc.Title)
			require.False(t, doc.Active)
			require.NotEmpty(t, got.Meta.Version)

			// A group: add three members, remove one.
			g, err := c.Create(ctx, scimclient.Groups, map[string]any{
				"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
				"displayName": "Engineering",
			})
			require.NoError(t, err)
			_, err = c.Patch(ctx, scimclient.Groups, g.ID, scimclient.AddMembers(ids[0], ids[1], ids[2]))
			require.NoError(t, err)
			_, err = c.Patch(ctx, scimclient.Groups, g.ID, scimclient.RemoveMembers(ids[1]))
			require.NoError(t, err)
			got, err = c.Get(ctx, scimclient.Groups, g.ID, scimclient.Attributes{Attributes: []string{"members"}})
			require.NoError(t, err)
			var group struct{ Members []struct{ Value string } }
			require.NoError(t, json.Unmarshal(got.Raw, &group))
			var members []string
			for _, m := range group.Members {
				members = append(members, m.Value)
			}
			require.ElementsMatch(t, []string{ids[0], ids[2]}, members)

			// Delete; the user is gone.
			require.NoError(t, c.Delete(ctx, scimclient.Users, ids[4]))
			_, err = c.Get(ctx, scimclient.Users, ids[4], scimclient.Attributes{})
			require.True(t, scimclient.IsNotFound(err), "%v", err)
		})
	}
}

// TestAgainstRosterUnauthorized requires a wrong token to be a 401 SCIM
// error, not a transport error.
func TestAgainstRosterUnauthorized(t *testing.T) {
	t.Parallel()
	b := setupRoster(t)
	c, err := scimclient.New(b.tenantURL, scimclient.Options{Token: "roster_nope_nope"})
	require.NoError(t, err)
	_, err = c.List(context.Background(), scimclient.Users, scimclient.ListOptions{})
	require.Equal(t, http.StatusUnauthorized, scimclient.StatusOf(err), "%v", err)
}
