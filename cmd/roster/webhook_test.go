package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/webhook"
)

// receiver is a webhook endpoint that verifies every delivery's signature
// and keeps the events in the order they first arrived.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	secret string

	mu       sync.Mutex
	seen     map[string]bool
	order    []recvEvent
	requests int
	bad      int             // deliveries whose signature did not verify
	respond  func(n int) int // status for the n-th request (1-based); nil: 204
	hang     chan struct{}   // when set, requests wait on it before answering
	started  chan struct{}   // closed when the first request arrives
	startOne sync.Once
}

type recvEvent struct {
	ID, Type, ResourceID string
	Version              string
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, seen: map[string]bool{}, started: make(chan struct{})}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return
	}
	r.startOne.Do(func() { close(r.started) })
	r.mu.Lock()
	r.requests++
	n, hang, respond := r.requests, r.hang, r.respond
	secret := r.secret
	r.mu.Unlock()
	if hang != nil {
		select {
		case <-hang:
		case <-req.Context().Done():
			return
		}
	}
	if err := webhook.Verify(secret, req.Header, body, 5*time.Minute, time.Now()); err != nil {
		r.mu.Lock()
		r.bad++
		r.mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	status := http.StatusNoContent
	if respond != nil {
		status = respond(n)
	}
	if status < 300 {
		var msg struct {
			Events []struct {
				ID         string `json:"id"`
				Type       string `json:"type"`
				ResourceID string `json:"resourceId"`
				Data       struct {
					Resource struct {
						Meta struct {
							Version string `json:"version"`
						} `json:"meta"`
					} `json:"resource"`
				} `json:"data"`
			} `json:"events"`
		}
		if err := json.Unmarshal(body, &msg); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		for _, e := range msg.Events {
			if !r.seen[e.ID] {
				r.seen[e.ID] = true
				r.order = append(r.order, recvEvent{e.ID, e.Type, e.ResourceID, e.Data.Resource.Meta.Version})
			}
		}
		r.mu.Unlock()
	}
	w.WriteHeader(status)
}

// received returns the distinct events received so far.
func (r *receiver) received() []recvEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recvEvent(nil), r.order...)
}

// waitFor waits until n distinct events have arrived.
func (r *receiver) waitFor(n int, within time.Duration) []recvEvent {
	r.t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := r.received()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("received %d of %d events in %s", len(got), n, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// addWebhook registers the receiver with the default tenant through the CLI.
func addWebhook(t *testing.T, db string, r *receiver, extra ...string) string {
	var ep struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	cliJSON(t, &ep, append([]string{"webhook", "add", "default", "--url", r.srv.URL, "--db", db, "--allow-private"}, extra...)...)
	require.True(t, strings.HasPrefix(ep.Secret, "whsec_"))
	r.mu.Lock()
	r.secret = ep.Secret
	r.mu.Unlock()
	return ep.ID
}

// requireOrderedPerResource checks that each resource's events arrived in
// the order of its versions.
func requireOrderedPerResource(t *testing.T, evs []recvEvent) {
	t.Helper()
	last := map[string]int{}
	for _, e := range evs {
		var v int
		_, err := fmt.Sscanf(e.Version, `W/"%d"`, &v)
		require.NoError(t, err, "version %q", e.Version)
		require.GreaterOrEqual(t, v, last[e.ResourceID], "events of %s out of order", e.ResourceID)
		last[e.ResourceID] = v
	}
}

// TestWebhooksSurviveSIGKILL kills `roster serve` while a delivery is in
// flight and shows that, after a restart on the same database, every event
// arrives, signed, in order per resource.
func TestWebhooksSurviveSIGKILL(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "roster.db")
	// The receiver is an httptest server on 127.0.0.1.
	flags := []string{"--webhook-timeout", "1s", "--webhook-retry-base", "100ms", "--webhook-allow-private"}
	srv := start(t, db, flags...)
	rcv := newReceiver(t)
	addWebhook(t, db, rcv)
	rcv.mu.Lock()
	rcv.hang = make(chan struct{}) // the first deliveries never get an answer
	rcv.mu.Unlock()

	ctx := context.Background()
	const users = 10
	ids := make([]string, users)
	for i := range users {
		code, body, err := do(ctx, http.DefaultClient, "POST", srv.tenantURL+"/Users",
			fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"u%d"}`, i))
		require.NoError(t, err)
		require.Equal(t, http.StatusCreated, code)
		ids[i] = body["id"].(string)
	}
	for round := range 3 {
		for _, id := range ids {
			code, _, err := do(ctx, http.DefaultClient, "PATCH", srv.tenantURL+"/Users/"+id,
				fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"displayName","value":"round %d"}]}`, round))
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, code)
		}
	}
	select {
	case <-rcv.started:
	case <-time.After(15 * time.Second):
		t.Fatal("no delivery started")
	}
	require.NoError(t, srv.cmd.Process.Signal(syscall.SIGKILL))
	exit := <-srv.done
	srv.done <- exit // for the cleanup that waits for it too
	rcv.mu.Lock()
	close(rcv.hang)
	rcv.hang = nil
	rcv.mu.Unlock()

	start(t, db, flags...)
	want := users * 4
	got := rcv.waitFor(want, 60*time.Second)
	require.Len(t, got, want, "every event exactly once after dropping duplicates by id")
	requireOrderedPerResource(t, got)
	rcv.mu.Lock()
	require.Zero(t, rcv.bad, "every delivery verified")
	rcv.mu.Unlock()
}

// TestWebhookDeadLetterAndRedeliverCLI lets deliveries fail until they are
// dead-lettered, lists them with the CLI, and redelivers them with
// `roster events redeliver` while the server runs.
func TestWebhookDeadLetterAndRedeliverCLI(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "roster.db")
	srv := start(t, db, "--webhook-timeout", "1s", "--webhook-retry-base", "50ms", "--webhook-allow-private")
	rcv := newReceiver(t)
	var failing sync.Mutex
	fail := true
	rcv.respond = func(int) int {
		failing.Lock()
		defer failing.Unlock()
		if fail {
			return http.StatusInternalServerError
		}
		return http.StatusNoContent
	}
	endpoint := addWebhook(t, db, rcv, "--max-attempts", "3")

	code, _, err := do(context.Background(), http.DefaultClient, "POST", srv.tenantURL+"/Users",
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"dead-letter"}`)
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, code)

	type delivery struct {
		ID         int64
		State      string
		Attempts   int
		LastStatus int
	}
	var dead []delivery
	deadline := time.Now().Add(20 * time.Second)
	for len(dead) == 0 {
		require.True(t, time.Now().Before(deadline), "the delivery was never dead-lettered")
		time.Sleep(100 * time.Millisecond)
		cliJSON(t, &dead, "events", "deliveries", "default", "--state", "dead", "--db", db)
	}
	require.Len(t, dead, 1)
	require.Equal(t, 3, dead[0].Attempts)
	require.Equal(t, http.StatusInternalServerError, dead[0].LastStatus)
	require.Empty(t, rcv.received())

	failing.Lock()
	fail = false
	failing.Unlock()
	var out struct{ Redelivered int }
	cliJSON(t, &out, "events", "redeliver", "default", "--endpoint", endpoint, "--db", db)
	require.Equal(t, 1, out.Redelivered)
	got := rcv.waitFor(1, 15*time.Second)
	require.Equal(t, "user.created", got[0].Type)
}

// TestWebhookAddRefusesPrivateCLI: `roster webhook add` refuses a URL that
// is a loopback, private or link-local address unless --allow-private, and
// link-local even then.
func TestWebhookAddRefusesPrivateCLI(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "roster.db")
	cli(t, 0, "", "tenant", "create", "acme", "--db", db)
	cases := []struct {
		url   string
		flags []string
		exit  int
	}{
		{"https://hooks.example.com/roster", nil, 0},
		{"http://127.0.0.1:9000/hook", nil, 1},
		{"http://10.0.0.7/hook", nil, 1},
		{"http://127.0.0.1:9000/hook", []string{"--allow-private"}, 0},
		{"http://169.254.169.254/latest/meta-data/", []string{"--allow-private"}, 1},
	}
	for _, c := range cases {
		cli(t, c.exit, "", append([]string{"webhook", "add", "acme", "--url", c.url, "--db", db}, c.flags...)...)
	}
}
