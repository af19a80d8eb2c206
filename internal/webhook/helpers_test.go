package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/store/pgtest"

	"github.com/rosterhq/roster/internal/store/storetest"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/jobs"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/postgres"
	"github.com/rosterhq/roster/internal/store/sqlite"
)

const testTenant = "acme"

// testBundle is a store and a jobs host, real ones, with a tenant.
type testBundle struct {
	store store.Store
	host  *jobs.Host
	// reopen opens another store and jobs host on the same files or
	// schema, as a restarted process or another node would; both close when
	// the test ends.
	reopen func(t *testing.T) (store.Store, *jobs.Host)
}

// backend is a kind of database the tests run on.
type backend struct {
	name  string
	setup func(t *testing.T) *testBundle
}

// backends lists SQLite and, when ROSTER_TEST_PG_DSN names a server,
// PostgreSQL.
func backends() []backend {
	return []backend{{"SQLite", setupSQLite}, {"Postgres", setupPostgres}}
}

// eachBackend runs fn as a parallel subtest per backend.
func eachBackend(t *testing.T, fn func(t *testing.T, b *testBundle)) {
	t.Helper()
	for _, be := range backends() {
		t.Run(be.name, func(t *testing.T) {
			t.Parallel()
			fn(t, be.setup(t))
		})
	}
}

func setupSQLite(t *testing.T) *testBundle {
	t.Helper()
	path := filepath.Join(t.TempDir(), "roster.db")
	open := func(t *testing.T) (store.Store, *jobs.Host) {
		t.Helper()
		ctx := context.Background()
		st, err := sqlite.Open(ctx, path)
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, st.Close()) })
		return st, openHost(t, st)
	}
	return newBundle(t, open)
}

func setupPostgres(t *testing.T) *testBundle {
	t.Helper()
	dsn, schemaName := newPostgresSchema(t)
	open := func(t *testing.T) (store.Store, *jobs.Host) {
		t.Helper()
		st := openPostgresStore(t, dsn, schemaName)
		return st, openHost(t, st)
	}
	return newBundle(t, open)
}

// newPostgresSchema returns the test server's DSN and the name of a fresh
// schema of the test's own (pgtest); it skips the test unless
// ROSTER_TEST_PG_DSN is set.
func newPostgresSchema(t *testing.T) (dsn, name string) {
	t.Helper()
	return pgtest.ServerDSN(t), pgtest.Schema(t)
}

// openPostgresStore opens a store on the schema, closed when the test ends.
func openPostgresStore(t *testing.T, dsn, schemaName string) *postgres.Store {
	t.Helper()
	st, err := postgres.Open(context.Background(), dsn, postgres.WithSchema(schemaName), postgres.WithMaxConns(8))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, st.Close()) })
	return st
}

// openHost opens the jobs host that goes with st, closed when the test
// ends.
func openHost(t *testing.T, st store.Store) *jobs.Host {
	t.Helper()
	host, err := jobs.Open(context.Background(), st, jobs.Config{Logger: testLogger(t)})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, host.Close()) })
	return host
}

func newBundle(t *testing.T, open func(t *testing.T) (store.Store, *jobs.Host)) *testBundle {
	t.Helper()
	st, host := open(t)
	require.NoError(t, storetest.Write(st).Tenants().Create(context.Background(), store.Tenant{ID: testTenant, Name: testTenant}))
	return &testBundle{store: st, host: host, reopen: open}
}

// testLogger logs warnings and errors to the test's output.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// testConfig is a Config with fast retries and polling.
func testConfig(t *testing.T, st store.Store) Config {
	return Config{
		Store:        st,
		Logger:       testLogger(t),
		Holder:       "test-node",
		Timeout:      2 * time.Second,
		RetryBase:    10 * time.Millisecond,
		RetryMax:     50 * time.Millisecond,
		PollInterval: 20 * time.Millisecond,
		// The receivers are httptest servers on 127.0.0.1.
		AllowPrivate: true,
	}
}

// startService returns a Service on host, started with host as Roster.Run
// starts them, and stopped (before host) when the test ends.
func startService(t *testing.T, host *jobs.Host, cfg Config) *Service {
	t.Helper()
	s, err := New(host, cfg)
	require.NoError(t, err)
	require.NoError(t, host.Start(context.Background()))
	require.NoError(t, s.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, s.Stop(ctx))
		require.NoError(t, host.Stop(ctx))
	})
	return s
}

// createEndpoint creates an endpoint of the test tenant delivering to url.
func createEndpoint(t *testing.T, st store.Store, id, url, secret string, edit ...func(*store.WebhookEndpoint)) store.WebhookEndpoint {
	t.Helper()
	ep := store.WebhookEndpoint{ID: id, Tenant: testTenant, URL: url, Secret: secret, MaxAttempts: 8}
	for _, f := range edit {
		f(&ep)
	}
	require.NoError(t, storetest.Write(st).Webhooks().Create(context.Background(), ep))
	ep, err := st.Webhooks().Get(context.Background(), id)
	require.NoError(t, err)
	return ep
}

// writeEvents records n changes of a user, each with one event of type typ
// whose data is {"n": from+i}, each in a write of its own, and returns the
// events' ids in order.
func writeEvents(t *testing.T, st store.Store, tenant, userID, typ string, from, n int) []string {
	t.Helper()
	ids := make([]string, 0, n)
	for i := from; i < from+n; i++ {
		ids = append(ids, writeEventsTogether(t, st, tenant, userID, typ, i, 1)...)
	}
	return ids
}

// writeEventsTogether is writeEvents with every change in one write, so
// that the dispatcher sees them all at once.
func writeEventsTogether(t *testing.T, st store.Store, tenant, userID, typ string, from, n int) []string {
	t.Helper()
	ctx := context.Background()
	cs := make([]*store.Change, 0, n)
	for i := from; i < from+n; i++ {
		cs = append(cs, &store.Change{
			Tenant: tenant, ResourceType: schema.UserResource, ResourceID: userID, ResourceName: userID,
			Operation: "patch", Version: int64(i + 1), Actor: "test",
			Events: []store.Event{{
				ID: uuid.NewString(), Type: typ, Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)),
			}},
		})
	}
	require.NoError(t, st.Write(ctx, func(w store.Writer) error {
		for _, c := range cs {
			if err := w.Record(ctx, c); err != nil {
				return err
			}
		}
		return nil
	}))
	ids := make([]string, 0, n)
	for _, c := range cs {
		ids = append(ids, c.Events[0].ID)
	}
	return ids
}

// request is one request a receiver got.
type request struct {
	id, timestamp, userAgent, contentType string
	events                                []store.Event
	status                                int // what the receiver answered
}

// receiver is a webhook endpoint: it verifies each request's signature and
// answers with the status its handle function returns.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	secret string

	mu       sync.Mutex
	handle   func(r request, nth int) int // nth: 1 for the first request
	arrived  int                          // requests that arrived
	requests []request                    // requests answered
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	secret, err := NewSecret()
	require.NoError(t, err)
	rc := &receiver{t: t, secret: secret, handle: func(request, int) int { return http.StatusNoContent }}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if err := Verify(rc.secret, r.Header, body, time.Minute, time.Now()); err != nil {
		rc.t.Errorf("receiver: %v", err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var msg struct {
		Events []store.Event `json:"events"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		rc.t.Errorf("receiver: body: %v", err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	req := request{
		id: r.Header.Get(HeaderID), timestamp: r.Header.Get(HeaderTimestamp),
		userAgent: r.Header.Get("User-Agent"), contentType: r.Header.Get("Content-Type"),
		events: msg.Events,
	}
	rc.mu.Lock()
	handle := rc.handle
	rc.arrived++
	nth := rc.arrived
	rc.mu.Unlock()
	req.status = handle(req, nth)
	rc.mu.Lock()
	rc.requests = append(rc.requests, req)
	rc.mu.Unlock()
	w.WriteHeader(req.status)
	if req.status >= 300 {
		fmt.Fprintf(w, "failure %d", nth)
	}
}

// setHandle replaces the receiver's behaviour.
func (rc *receiver) setHandle(h func(r request, nth int) int) {
	rc.mu.Lock()
	rc.handle = h
	rc.mu.Unlock()
}

// got returns every request answered so far.
func (rc *receiver) got() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]request(nil), rc.requests...)
}

// accepted returns the events of the requests answered with 2xx, in the
// order they were answered.
func (rc *receiver) accepted() []store.Event {
	var es []store.Event
	for _, r := range rc.got() {
		if r.status < 300 {
			es = append(es, r.events...)
		}
	}
	return es
}

// eventIDs returns the ids of events.
func eventIDs(es []store.Event) []string {
	ids := make([]string, len(es))
	for i, e := range es {
		ids[i] = e.ID
	}
	return ids
}

// waitDeliveries waits until the endpoint has n deliveries in state, and
// returns them.
func waitDeliveries(t *testing.T, s *Service, endpoint, state string, n int, within time.Duration) []Delivery {
	t.Helper()
	var ds []Delivery
	require.Eventually(t, func() bool {
		var err error
		ds, err = allDeliveries(s, DeliveryQuery{Endpoint: endpoint, State: state})
		require.NoError(t, err)
		return len(ds) >= n
	}, within, 10*time.Millisecond, "waiting for %d %s deliveries of %s; have %d", n, state, endpoint, len(ds))
	return ds
}

// allDeliveries pages through every delivery q selects.
func allDeliveries(s *Service, q DeliveryQuery) ([]Delivery, error) {
	var all []Delivery
	for {
		q.Limit = 1000
		ds, err := s.Deliveries(context.Background(), q)
		if err != nil {
			return nil, err
		}
		all = append(all, ds...)
		if len(ds) < q.Limit {
			return all, nil
		}
		q.After = ds[len(ds)-1].ID
	}
}
