package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/store/pgtest"
)

// scimCall sends a SCIM request with a token and returns the status and the
// decoded body.
func scimCall(t *testing.T, method, url, token, body string) (int, map[string]any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/scim+json")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m
}

// TestTwoNodesOnePostgres starts two `roster serve` processes on one
// PostgreSQL database, as behind a load balancer, and shows that they act
// as one: reads see the other node's writes at once, revocation through one
// is refused by the other on the next request, concurrent creates of one
// userName give exactly one 201, and concurrent membership changes through
// both lose nothing.
func TestTwoNodesOnePostgres(t *testing.T) {
	t.Parallel()
	db := pgtest.DSN(t)
	var a, b *server
	var wg sync.WaitGroup
	wg.Add(2)
	// Both start at once: migrations and the default tenant race.
	go func() { defer wg.Done(); a = start(t, db) }()
	go func() { defer wg.Done(); b = start(t, db) }()
	wg.Wait()
	require.False(t, a == nil || b == nil, "both nodes started")
	require.NotEqual(t, a.tenantURL, b.tenantURL, "two listeners")

	code, body := scimCall(t, "POST", a.tenantURL+"/Users", bootstrapToken, `{"userName":"ada@example.com"}`)
	require.Equal(t, 201, code, "%v", body)
	id := body["id"].(string)
	code, body = scimCall(t, "GET", b.tenantURL+"/Users/"+id, bootstrapToken, "")
	require.Equal(t, 200, code, "a user created through A is read through B at once")
	require.Equal(t, "ada@example.com", body["userName"])

	// A token issued with the CLI, revoked through node A's admin API, is
	// refused by node B on its next request.
	var tok struct{ ID, Token string }
	cliJSON(t, &tok, "token", "issue", "default", "--db", db)
	require.Equal(t, 200, status(t, b.tenantURL+"/Users", tok.Token))
	cli(t, 0, "a long enough password\n", "admin", "create", "root", "--password-stdin", "--db", db)
	base := strings.TrimSuffix(a.tenantURL, "/scim/v2/default")
	req, err := http.NewRequest("DELETE", base+"/admin/api/tenants/default/tokens/"+tok.ID, nil)
	require.NoError(t, err)
	req.SetBasicAuth("root", "a long enough password")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, 204, res.StatusCode)
	require.Equal(t, 401, status(t, b.tenantURL+"/Users", tok.Token), "revoked through A, refused by B")

	// Concurrent creates of one userName through both nodes.
	const racers = 20
	codes := make(chan int, racers)
	var race sync.WaitGroup
	for i := range racers {
		race.Add(1)
		go func() {
			defer race.Done()
			node := []*server{a, b}[i%2]
			code, _ := scimCall(t, "POST", node.tenantURL+"/Users", bootstrapToken, `{"userName":"Grace@Example.com"}`)
			codes <- code
		}()
	}
	race.Wait()
	close(codes)
	counts := map[int]int{}
	for c := range codes {
		counts[c]++
	}
	require.Equal(t, map[int]int{201: 1, 409: racers - 1}, counts)

	// Concurrent PATCHes of one group through both nodes lose no member.
	code, body = scimCall(t, "POST", a.tenantURL+"/Groups", bootstrapToken, `{"displayName":"engineering"}`)
	require.Equal(t, 201, code)
	group := body["id"].(string)
	const members = 40
	ids := make([]string, members)
	for i := range ids {
		code, body := scimCall(t, "POST", []*server{a, b}[i%2].tenantURL+"/Users", bootstrapToken, fmt.Sprintf(`{"userName":"member%d@example.com"}`, i))
		require.Equal(t, 201, code)
		ids[i] = body["id"].(string)
	}
	var patch sync.WaitGroup
	for i, id := range ids {
		patch.Add(1)
		go func() {
			defer patch.Done()
			node := []*server{a, b}[i%2]
			code, body := scimCall(t, "PATCH", node.tenantURL+"/Groups/"+group, bootstrapToken,
				`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"`+id+`"}]}]}`)
			require.Contains(t, []int{200, 204}, code, "%v", body)
		}()
	}
	patch.Wait()
	code, body = scimCall(t, "GET", b.tenantURL+"/Groups/"+group, bootstrapToken, "")
	require.Equal(t, 200, code)
	require.Len(t, body["members"], members, "no member lost")
}

// cutProxy forwards TCP connections to a backend until cut: then it drops
// every open connection and refuses new ones, as a database host that goes
// away would, until restored.
type cutProxy struct {
	ln      net.Listener
	backend string
	mu      sync.Mutex
	cut     bool
	conns   map[net.Conn]bool
}

func newCutProxy(t *testing.T, backend string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &cutProxy{ln: ln, backend: backend, conns: map[net.Conn]bool{}}
	t.Cleanup(func() { ln.Close(); p.setCut(true) })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *cutProxy) serve(c net.Conn) {
	p.mu.Lock()
	if p.cut {
		p.mu.Unlock()
		c.Close()
		return
	}
	up, err := net.Dial("tcp", p.backend)
	if err != nil {
		p.mu.Unlock()
		c.Close()
		return
	}
	p.conns[c], p.conns[up] = true, true
	p.mu.Unlock()
	go func() { _, _ = io.Copy(up, c); up.Close() }()
	_, _ = io.Copy(c, up)
	c.Close()
}

// setCut cuts (true) or restores (false) the connection to the backend.
func (p *cutProxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}

// TestPostgresGoesAway cuts Roster off its PostgreSQL server mid-load:
// requests fail fast with 503 and a SCIM error, /readyz says unavailable,
// and when the server is back Roster recovers by itself; every create it
// acknowledged is there.
func TestPostgresGoesAway(t *testing.T) {
	t.Parallel()
	db := pgtest.DSN(t)
	u, err := url.Parse(db)
	require.NoError(t, err)
	proxy := newCutProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	node := start(t, u.String())
	base := strings.TrimSuffix(node.tenantURL, "/scim/v2/default")

	var acked []string
	create := func(i int) int {
		code, body := scimCall(t, "POST", node.tenantURL+"/Users", bootstrapToken, fmt.Sprintf(`{"userName":"u%d@example.com"}`, i))
		if code == 201 {
			acked = append(acked, body["id"].(string))
		}
		return code
	}
	for i := range 20 {
		require.Equal(t, 201, create(i))
	}

	proxy.setCut(true)
	for i := 20; i < 30; i++ {
		begin := time.Now()
		code, body := scimCall(t, "POST", node.tenantURL+"/Users", bootstrapToken, fmt.Sprintf(`{"userName":"down%d@example.com"}`, i))
		require.Equal(t, 503, code, "%v", body)
		require.Equal(t, "503", body["status"], "a SCIM error body")
		require.Less(t, time.Since(begin), 5*time.Second, "fails fast")
	}
	res, err := http.Get(base + "/readyz")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, 503, res.StatusCode)
	res, err = http.Get(base + "/healthz")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, 200, res.StatusCode, "the process is up")

	proxy.setCut(false)
	attempt := 100
	require.Eventually(t, func() bool { attempt++; return create(attempt) == 201 }, 30*time.Second, 200*time.Millisecond, "recovers by itself")
	for i := 200; i < 220; i++ {
		require.Equal(t, 201, create(i))
	}
	for _, id := range acked {
		code, _ := scimCall(t, "GET", node.tenantURL+"/Users/"+id, bootstrapToken, "")
		require.Equal(t, 200, code, "acknowledged user %s is kept", id)
	}
}

// TestUnstorableInputOnPostgres sends what PostgreSQL cannot store — the
// NUL character, in bodies, filters, paths and credentials — and gets clear
// 4xx answers, never a 500.
func TestUnstorableInputOnPostgres(t *testing.T) {
	t.Parallel()
	node := start(t, pgtest.DSN(t))
	base := strings.TrimSuffix(node.tenantURL, "/scim/v2/default")
	for _, c := range []struct {
		method, path, body string
		status             int
	}{
		{"POST", "/Users", `{"userName":"a\u0000b@example.com"}`, 400},
		{"POST", "/Groups", `{"displayName":"x","members":[{"value":"\u0000"}]}`, 400},
		{"GET", "/Users?filter=" + url.QueryEscape(`userName eq "a\u0000"`), "", 400},
		{"GET", "/Users/%00", "", 404},
		{"GET", "/Users/x%00y", "", 404},
		{"POST", "/Bulk", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[{"method":"POST","path":"/Users","bulkId":"\u0000","data":{"userName":"b"}}]}`, 400},
	} {
		code, body := scimCall(t, c.method, node.tenantURL+c.path, bootstrapToken, c.body)
		require.Equal(t, c.status, code, "%s %s: %v", c.method, c.path, body)
		require.Equal(t, fmt.Sprint(c.status), body["status"], "a SCIM error body")
	}
	res, err := http.Post(base+"/admin/api/login", "application/json", strings.NewReader(`{"name":"root\u0000","password":"x"}`))
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, 400, res.StatusCode)
	req, _ := http.NewRequest("GET", base+"/admin/api/tenants", nil)
	req.SetBasicAuth("root\x00", "a long enough password")
	res, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, 401, res.StatusCode)
	// A client id no client can have is a wrong credential: 401, counted by
	// the failure limits like any other.
	res, err = http.PostForm(base+"/oauth/default/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"a\x00"}, "client_secret": {"b"}})
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, 401, res.StatusCode)
	code, _ := scimCall(t, "GET", node.tenantURL+"/Users", bootstrapToken, "")
	require.Equal(t, 200, code, "the node is fine")
}
