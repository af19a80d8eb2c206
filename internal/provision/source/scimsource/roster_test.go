package scimsource_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/app/apptest"
	"github.com/rosterhq/roster/internal/provision/source"
	"github.com/rosterhq/roster/internal/provision/source/scimsource"
	"github.com/rosterhq/roster/internal/scimclient"
)

// roster is a real Roster on a fresh SQLite file, reached over HTTP, with a
// client to seed it.
type roster struct {
	base    string // the server's root URL
	tenant  string // the Tenant URL
	token   string
	client  *scimclient.Client
	handler http.Handler // the Roster handler, unwrapped
}

// backends are the stores the source is tested over; PostgreSQL skips
// unless ROSTER_TEST_PG_DSN is set.
var backends = apptest.Backends

// setupRoster starts a Roster on the backend; wrap, if not nil, wraps its
// handler (to make it behave like a server with fewer features).
func setupRoster(t *testing.T, backend string, wrap func(http.Handler) http.Handler) *roster {
	t.Helper()
	srv := apptest.Start(t, backend, wrap)
	c, err := scimclient.New(srv.TenantURL, scimclient.Options{Token: srv.Token})
	require.NoError(t, err)
	return &roster{base: srv.URL, tenant: srv.TenantURL, token: srv.Token, client: c, handler: srv.Handler}
}

func (r *roster) source(t *testing.T, o scimsource.Options) *scimsource.Source {
	t.Helper()
	if o.Token == "" {
		o.Token = r.token
	}
	s, err := scimsource.New(r.tenant, o)
	require.NoError(t, err)
	return s
}

func (r *roster) createUser(t *testing.T, name string, emails ...string) string {
	t.Helper()
	var es []any
	for i, e := range emails {
		es = append(es, map[string]any{"value": e, "type": "work", "primary": i == 0})
	}
	u := map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": name, "active": true,
		"name": map[string]any{"givenName": "Ann", "familyName": "Lee"},
	}
	if len(es) > 0 {
		u["emails"] = es
	}
	res, err := r.client.Create(context.Background(), scimclient.Users, u)
	require.NoError(t, err)
	return res.ID
}

func (r *roster) createGroup(t *testing.T, name string, members ...string) string {
	t.Helper()
	res, err := r.client.Create(context.Background(), scimclient.Groups, map[string]any{
		"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
		"displayName": name,
	})
	require.NoError(t, err)
	if len(members) > 0 {
		_, err = r.client.Patch(context.Background(), scimclient.Groups, res.ID, scimclient.AddMembers(members...))
		require.NoError(t, err)
	}
	return res.ID
}

func (r *roster) setTitle(t *testing.T, id, title string) {
	t.Helper()
	_, err := r.client.Patch(context.Background(), scimclient.Users, id, scimclient.Replace("title", title))
	require.NoError(t, err)
}

// collect lists a kind into a map by anchor.
func collect(t *testing.T, s *scimsource.Source, kind source.Kind) map[string]source.Object {
	t.Helper()
	out := map[string]source.Object{}
	require.NoError(t, s.List(context.Background(), kind, func(o source.Object) error {
		_, dup := out[o.Anchor]
		require.False(t, dup, "listed twice: %s", o.Anchor)
		out[o.Anchor] = o
		return nil
	}))
	return out
}

// changes runs one delta and returns the anchors reported, in order, and
// the next watermark.
func changes(t *testing.T, s *scimsource.Source, kind source.Kind, w string) ([]string, string) {
	t.Helper()
	var got []string
	next, err := s.Changes(context.Background(), kind, w, func(o source.Object) error {
		require.Equal(t, kind, o.Kind)
		require.False(t, o.Deleted)
		got = append(got, o.Anchor)
		return nil
	})
	require.NoError(t, err)
	require.NotEmpty(t, next)
	return got, next
}

func anchors(m source.Object) []string {
	var out []string
	for _, x := range m.Members {
		out = append(out, x.Anchor)
	}
	return out
}

// TestList lists users and groups of a real Roster: multi-valued
// attributes keep every value, groups carry their members with kinds
// (read one group at a time), paging crosses pages, and Missing finds a
// deleted user.
func TestList(t *testing.T) {
	t.Parallel()
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			r := setupRoster(t, backend, nil)
			ctx := context.Background()
			var users []string
			for i := range 5 {
				users = append(users, r.createUser(t, fmt.Sprintf("user%d@example.com", i),
					fmt.Sprintf("user%d@example.com", i), fmt.Sprintf("u%d@alias.example.com", i)))
			}
			inner := r.createGroup(t, "Inner", users[2])
			outer := r.createGroup(t, "Outer", users[0], users[1], inner)
			empty := r.createGroup(t, "Empty")

			// A page size of 2 makes the five users three pages.
			s := r.source(t, scimsource.Options{PageSize: 2})
			require.Equal(t, "scim", s.Kind())
			require.Contains(t, s.Describe(), r.tenant)
			require.NotContains(t, s.Describe(), r.token)

			got := collect(t, s, source.User)
			require.Len(t, got, 5)
			u0 := got[users[0]]
			require.Equal(t, source.User, u0.Kind)
			require.NotEmpty(t, u0.Version)
			name, ok := u0.Get("userName")
			require.True(t, ok)
			require.Equal(t, source.Values{"user0@example.com"}, name)
			emails, ok := u0.Get("emails")
			require.True(t, ok)
			require.Len(t, emails, 2, "both values of a multi-valued attribute")
			require.Equal(t, "u0@alias.example.com", emails[1].(map[string]any)["value"])
			_, ok = u0.Get("title")
			require.False(t, ok, "an attribute the server did not send is absent")
			_, ok = u0.Get("meta")
			require.False(t, ok, "meta is not an attribute")

			groups := collect(t, s, source.Group)
			require.Len(t, groups, 3)
			require.ElementsMatch(t, []string{users[0], users[1], inner}, anchors(groups[outer]))
			for _, m := range groups[outer].Members {
				want := source.User
				if m.Anchor == inner {
					want = source.Group
				}
				require.Equal(t, want, m.Kind, m.Anchor)
			}
			require.Equal(t, []string{users[2]}, anchors(groups[inner]))
			require.Empty(t, groups[empty].Members)
			dn, _ := groups[outer].Get("displayName")
			require.Equal(t, source.Values{"Outer"}, dn)

			// GroupExpander streams the same members.
			var streamed []string
			require.NoError(t, s.Members(ctx, outer, func(m source.Member) error {
				streamed = append(streamed, m.Anchor)
				return nil
			}))
			require.ElementsMatch(t, []string{users[0], users[1], inner}, streamed)
			err := s.Members(ctx, "no-such-group", func(source.Member) error { return nil })
			require.ErrorIs(t, err, source.ErrNotFound)

			// A deleted user is found by a full listing against known anchors.
			require.NoError(t, r.client.Delete(ctx, scimclient.Users, users[3]))
			known := map[string]struct{}{}
			for _, u := range users {
				known[u] = struct{}{}
			}
			gone, err := source.Missing(ctx, s, source.User, known)
			require.NoError(t, err)
			require.Equal(t, []string{users[3]}, gone)

			// fn's error stops the listing and comes back.
			stop := fmt.Errorf("stop here")
			require.Equal(t, stop, s.List(ctx, source.User, func(source.Object) error { return stop }))
		})
	}
}

// TestChanges runs deltas against a real Roster: the first reports all,
// then only what changed, and re-reading the overlap window (which always
// holds the last objects seen, modified in the watermark's millisecond)
// reports nothing twice.
func TestChanges(t *testing.T) {
	t.Parallel()
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			r := setupRoster(t, backend, nil)
			ctx := context.Background()
			var users []string
			for i := range 6 {
				users = append(users, r.createUser(t, fmt.Sprintf("user%d@example.com", i)))
			}
			g := r.createGroup(t, "Staff", users[0])
			// A long overlap makes every object of this test sit in the window,
			// so that all of them are read again by each delta and must be
			// de-duplicated.
			s := r.source(t, scimsource.Options{PageSize: 2, Overlap: time.Hour})

			got, w := changes(t, s, source.User, "")
			require.ElementsMatch(t, users, got, "the empty watermark reports everything")
			got, w2 := changes(t, s, source.User, w)
			require.Empty(t, got, "nothing changed")
			require.Equal(t, w, w2)

			r.setTitle(t, users[1], "Engineer")
			r.setTitle(t, users[4], "Manager")
			got, w = changes(t, s, source.User, w)
			require.ElementsMatch(t, []string{users[1], users[4]}, got)
			got, w = changes(t, s, source.User, w)
			require.Empty(t, got)

			// An update and a create right after a delta land in or next to the
			// watermark's millisecond; each must be reported once.
			for i := range 5 {
				r.setTitle(t, users[i], fmt.Sprintf("Title %d", i))
				id := r.createUser(t, fmt.Sprintf("new%d@example.com", i))
				got, w = changes(t, s, source.User, w)
				require.ElementsMatch(t, []string{users[i], id}, got, "round %d", i)
			}

			// Groups: a membership change is a change of the group.
			gs, gw := changes(t, s, source.Group, "")
			require.Equal(t, []string{g}, gs)
			_, err := r.client.Patch(ctx, scimclient.Groups, g, scimclient.AddMembers(users[5]))
			require.NoError(t, err)
			var members []string
			gw, err = s.Changes(ctx, source.Group, gw, func(o source.Object) error {
				require.Equal(t, g, o.Anchor)
				members = anchors(o)
				return nil
			})
			require.NoError(t, err)
			require.ElementsMatch(t, []string{users[0], users[5]}, members)
			gs, _ = changes(t, s, source.Group, gw)
			require.Empty(t, gs)

			// A bad watermark is an error, not a silent full read.
			_, err = s.Changes(ctx, source.User, "not a watermark", func(source.Object) error { return nil })
			require.Error(t, err)
		})
	}
}

// TestChangesDuringDelta modifies users while a delta is running: each
// change is reported by that delta or the next one, never lost.
func TestChangesDuringDelta(t *testing.T) {
	t.Parallel()
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			r := setupRoster(t, backend, nil)
			var users []string
			for i := range 6 {
				users = append(users, r.createUser(t, fmt.Sprintf("user%d@example.com", i)))
			}
			s := r.source(t, scimsource.Options{PageSize: 2})
			_, w := changes(t, s, source.User, "")
			r.setTitle(t, users[0], "first")

			var during []string
			var created string
			w2, err := s.Changes(context.Background(), source.User, w, func(o source.Object) error {
				during = append(during, o.Anchor)
				if created == "" {
					r.setTitle(t, users[5], "during")
					created = r.createUser(t, "during@example.com")
				}
				return nil
			})
			require.NoError(t, err)
			after, _ := changes(t, s, source.User, w2)
			all := append(during, after...)
			require.Contains(t, during, users[0])
			require.Contains(t, all, users[5])
			require.Contains(t, all, created)
		})
	}
}

// TestChangesWithoutFilter puts Roster behind a front that refuses
// filters on meta.lastModified, as servers without that filter do: the
// delta falls back to reading every object, reports only those modified
// since the watermark, and tries the filter only once.
func TestChangesWithoutFilter(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	refused := 0
	r := setupRoster(t, "sqlite", func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if strings.Contains(req.URL.Query().Get("filter"), "lastModified") {
				mu.Lock()
				refused++
				mu.Unlock()
				w.Header().Set("Content-Type", scimclient.MediaType)
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprint(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"invalidFilter","detail":"unsupported"}`)
				return
			}
			h.ServeHTTP(w, req)
		})
	})
	a := r.createUser(t, "a@example.com")
	b := r.createUser(t, "b@example.com")
	s := r.source(t, scimsource.Options{})
	_, w := changes(t, s, source.User, "")
	r.setTitle(t, b, "changed")
	got, w := changes(t, s, source.User, w)
	// Unchanged a is left out by its lastModified or the watermark's
	// de-duplication even in a full read.
	require.Equal(t, []string{b}, got)
	require.NotContains(t, got, a)
	got, _ = changes(t, s, source.User, w)
	require.Empty(t, got)
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, 1, refused, "the refused filter is tried once")
}

// TestConnection checks Test's outcomes against a real Roster and real
// network failures.
func TestConnection(t *testing.T) {
	t.Parallel()
	r := setupRoster(t, "sqlite", nil)

	// A server that is down: a listener that is closed.
	down, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	downURL := "http://" + down.Addr().String() + "/scim/v2/default"
	require.NoError(t, down.Close())

	// A server that accepts connections and never answers.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { silent.Close() })
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()

	// Roster over TLS with a certificate the client does not trust.
	ctx := context.Background()
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		http.Redirect(w, req, r.base+req.URL.Path, http.StatusTemporaryRedirect)
	}))
	// The refused handshakes are the point; keep them out of the log.
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)

	// A web application that is not a SCIM server.
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html><body>Welcome</body></html>")
	}))
	t.Cleanup(web.Close)

	for _, tc := range []struct {
		name    string
		url     string
		token   string
		timeout time.Duration
		cause   source.Cause
		says    string
	}{
		{name: "good", url: r.tenant},
		{name: "wrong token", url: r.tenant, token: "roster_nope_nope", cause: source.CauseCredentials, says: "token"},
		{name: "wrong URL path", url: r.base + "/scim/v1/default", cause: source.CauseAddress, says: "Tenant URL"},
		{name: "server down", url: downURL, cause: source.CauseUnreachable, says: "connection refused"},
		{name: "timeout", url: "http://" + silent.Addr().String() + "/scim/v2/default", timeout: 300 * time.Millisecond, cause: source.CauseTimeout, says: "did not answer in time"},
		{name: "untrusted TLS", url: tlsSrv.URL + "/scim/v2/default", cause: source.CauseTLS, says: "certificate"},
		{name: "TLS to plain HTTP", url: strings.Replace(r.tenant, "http://", "https://", 1), cause: source.CauseTLS, says: "plain HTTP"},
		{name: "not SCIM", url: web.URL + "/scim/v2/default", cause: source.CauseProtocol, says: "not with a SCIM ListResponse"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tok := tc.token
			if tok == "" {
				tok = r.token
			}
			s, err := scimsource.New(tc.url, scimsource.Options{Token: tok, TestTimeout: tc.timeout})
			require.NoError(t, err)
			err = s.Test(ctx)
			if tc.cause == "" {
				require.NoError(t, err)
				return
			}
			var te *source.TestError
			require.ErrorAs(t, err, &te)
			require.Equal(t, tc.cause, te.Cause, "%v", err)
			require.Contains(t, te.Message, tc.says)
			require.NotContains(t, err.Error(), tok, "the token never appears in a message")
		})
	}
}

// TestChangesSkipsUnchangedGroups counts the member reads a group delta
// makes: only the changed group's members are read.
func TestChangesSkipsUnchangedGroups(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	reads := map[string]int{}
	r := setupRoster(t, "sqlite", func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if req.URL.Query().Get("attributes") == "members" {
				mu.Lock()
				reads[req.URL.Path]++
				mu.Unlock()
			}
			h.ServeHTTP(w, req)
		})
	})
	u := r.createUser(t, "a@example.com")
	g1 := r.createGroup(t, "One", u)
	g2 := r.createGroup(t, "Two", u)
	s := r.source(t, scimsource.Options{Overlap: time.Hour})
	_, w := changes(t, s, source.Group, "")
	_, err := r.client.Patch(context.Background(), scimclient.Groups, g2, scimclient.Replace("displayName", "Two!"))
	require.NoError(t, err)
	got, _ := changes(t, s, source.Group, w)
	require.Equal(t, []string{g2}, got)
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, 1, reads["/scim/v2/default/Groups/"+g1], "g1 read once, by the first delta")
	require.Equal(t, 2, reads["/scim/v2/default/Groups/"+g2])
}

// TestChangesWhenConfigSaysNoFilter: a ServiceProviderConfig with
// filter.supported false means no filtered request is ever sent.
func TestChangesWhenConfigSaysNoFilter(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	filtered := 0
	r := setupRoster(t, "sqlite", func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if strings.HasSuffix(req.URL.Path, "/ServiceProviderConfig") {
				w.Header().Set("Content-Type", scimclient.MediaType)
				fmt.Fprint(w, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],"filter":{"supported":false,"maxResults":0}}`)
				return
			}
			if req.URL.Query().Has("filter") {
				mu.Lock()
				filtered++
				mu.Unlock()
			}
			h.ServeHTTP(w, req)
		})
	})
	a := r.createUser(t, "a@example.com")
	r.createUser(t, "b@example.com")
	s := r.source(t, scimsource.Options{})
	_, w := changes(t, s, source.User, "")
	r.setTitle(t, a, "changed")
	got, _ := changes(t, s, source.User, w)
	require.Equal(t, []string{a}, got)
	mu.Lock()
	defer mu.Unlock()
	require.Zero(t, filtered)
}

// TestConnectionOverTLS: with a client that trusts the server's
// certificate (Options.HTTPClient), Roster over TLS passes.
func TestConnectionOverTLS(t *testing.T) {
	t.Parallel()
	r := setupRoster(t, "sqlite", nil)
	srv := httptest.NewTLSServer(r.handler)
	t.Cleanup(srv.Close)
	s, err := scimsource.New(srv.URL+"/scim/v2/default", scimsource.Options{Token: r.token, HTTPClient: srv.Client()})
	require.NoError(t, err)
	require.NoError(t, s.Test(context.Background()))
	var n int
	require.NoError(t, s.List(context.Background(), source.User, func(source.Object) error { n++; return nil }))
	require.Zero(t, n)
}
