package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// scimClient sends SCIM requests as an identity provider would.
type scimClient struct {
	t     *testing.T
	base  string
	token string
}

func (c scimClient) do(method, path string, body any) map[string]any {
	c.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(c.t, err)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	require.NoError(c.t, err)
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	require.Less(c.t, resp.StatusCode, 300, "%s %s", method, path)
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return out
}

func user(name string) map[string]any {
	return map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": name + "@acme.example", "active": true,
		"name":   map[string]any{"givenName": name, "familyName": "Example"},
		"emails": []any{map[string]any{"value": name + "@acme.example", "type": "work", "primary": true}},
	}
}

func patchOps(ops ...map[string]any) map[string]any {
	return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": ops}
}

// waitFor polls the app's table until want holds.
func waitFor(t *testing.T, a *App, want func([]Employee) bool) []Employee {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		es, err := a.Employees(context.Background())
		require.NoError(t, err)
		if want(es) {
			return es
		}
		if time.Now().After(deadline) {
			t.Fatalf("the app's table never got in step; it holds %+v", es)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func start(t *testing.T, ctx context.Context, dbPath string) (*App, *httptest.Server, context.CancelFunc, chan error) {
	a, err := Open(ctx, dbPath, "")
	require.NoError(t, err)
	srv := httptest.NewServer(a.Handler())
	syncCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Sync(syncCtx) }()
	return a, srv, stop, done
}

func TestEmployeesFollowSCIM(t *testing.T) {
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "employees.db")
	a, srv, stopSync, done := start(t, ctx, dbPath)
	tn, token, err := a.Setup(ctx, "acme")
	require.NoError(t, err)
	require.NotEmpty(t, token)
	c := scimClient{t: t, base: srv.URL + "/scim/v2/" + tn.Name, token: token}

	alice := c.do("POST", "/Users", user("alice"))
	bob := c.do("POST", "/Users", user("bob"))
	admins := c.do("POST", "/Groups", map[string]any{
		"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
		"displayName": "Admins",
		"members":     []any{map[string]any{"value": alice["id"]}},
	})
	// Entra's membership batch and its string-typed "False".
	c.do("PATCH", "/Groups/"+admins["id"].(string), patchOps(map[string]any{
		"op": "Add", "path": "members", "value": []any{map[string]any{"value": bob["id"]}},
	}))
	c.do("PATCH", "/Users/"+alice["id"].(string), patchOps(map[string]any{"op": "Replace", "path": "active", "value": "False"}))

	es := waitFor(t, a, func(es []Employee) bool {
		return len(es) == 2 && !es[0].Active && len(es[1].Roles) == 1
	})
	require.Equal(t, Employee{ID: alice["id"].(string), UserName: "alice@acme.example", DisplayName: "alice Example",
		Email: "alice@acme.example", Active: false, Roles: []string{"Admins"}}, es[0])
	require.Equal(t, []string{"Admins"}, es[1].Roles)

	// The app stops (its subscription with it); changes made meanwhile are
	// handed over when it starts again.
	stopSync()
	require.NoError(t, <-done)
	c.do("DELETE", "/Users/"+bob["id"].(string), nil)
	c.do("PATCH", "/Groups/"+admins["id"].(string), patchOps(map[string]any{"op": "Replace", "path": "displayName", "value": "Administrators"}))
	srv.Close()
	require.NoError(t, a.Close())

	a, srv, stopSync, done = start(t, ctx, dbPath)
	defer func() {
		stopSync()
		<-done
		srv.Close()
		a.Close()
	}()
	_, again, err := a.Setup(ctx, "acme")
	require.NoError(t, err)
	require.Empty(t, again, "a second run issues no new token")
	es = waitFor(t, a, func(es []Employee) bool {
		return len(es) == 1 && len(es[0].Roles) == 1 && es[0].Roles[0] == "Administrators"
	})
	require.Equal(t, "alice@acme.example", es[0].UserName)
}
