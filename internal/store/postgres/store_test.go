package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/pgtest"
	"github.com/rosterhq/roster/internal/store/postgres"
	"github.com/rosterhq/roster/internal/store/storetest"
)

// openStore opens another store on an existing schema, as another node
// would, closed when the test ends.
func openStore(t testing.TB, sch string, opts ...postgres.Option) *postgres.Store {
	t.Helper()
	opts = append([]postgres.Option{postgres.WithSchema(sch), postgres.WithMaxConns(4)}, opts...)
	s, err := postgres.Open(context.Background(), pgtest.ServerDSN(t), opts...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	pgtest.ServerDSN(t)
	storetest.RunTests(t, func(t *testing.T) store.Store { return pgtest.Open(t) })
}

// Several nodes starting at once on an empty schema: one migrates, the
// others wait for it and find nothing to do.
func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn, sch := pgtest.ServerDSN(t), pgtest.Schema(t)
	const nodes = 6
	stores := make([]*postgres.Store, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = postgres.Open(ctx, dsn, postgres.WithSchema(sch), postgres.WithMaxConns(2))
		}()
	}
	wg.Wait()
	for i := range nodes {
		require.NoError(t, errs[i], "node %d", i)
		defer stores[i].Close()
	}
	for _, s := range stores {
		ok, err := s.MigrationsCurrent(ctx)
		require.NoError(t, err)
		require.True(t, ok)
		require.NoError(t, s.Ping(ctx))
	}
	var versions, distinct int
	require.NoError(t, stores[0].Pool().QueryRow(ctx, "SELECT count(*), count(DISTINCT version) FROM schema_migrations").
		Scan(&versions, &distinct))
	require.Equal(t, distinct, versions, "each migration applied once")
	require.Positive(t, versions)

	// Opening again is a no-op, and what one node writes the others read.
	again := openStore(t, sch)
	require.NoError(t, storetest.Write(again).Tenants().Create(ctx, store.Tenant{ID: "t1", Name: "acme"}))
	for _, s := range stores {
		tn, err := s.Tenants().Get(ctx, "t1")
		require.NoError(t, err)
		require.Equal(t, "acme", tn.Name)
	}
}

// MigrationsCurrent and Ping report a schema that lacks migrations.
func TestMigrationsCurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := pgtest.Open(t)
	ok, err := s.MigrationsCurrent(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	_, err = s.Pool().Exec(ctx, "DELETE FROM schema_migrations")
	require.NoError(t, err)
	ok, err = s.MigrationsCurrent(ctx)
	require.NoError(t, err)
	require.False(t, ok)
	require.Error(t, s.Ping(ctx), "Ping reports a schema this build does not expect")
}

// Of concurrent creates of one userName on two nodes exactly one wins; the
// unique index decides, not the process.
func TestConcurrentUserNameAcrossNodes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sch := pgtest.Schema(t)
	a, b := openStore(t, sch), openStore(t, sch)
	require.NoError(t, storetest.Write(a).Tenants().Create(ctx, store.Tenant{ID: "t1", Name: "acme"}))
	for round := range 5 {
		var (
			wg               sync.WaitGroup
			mu               sync.Mutex
			won, conflicts   int
			start            = make(chan struct{})
			name             = fmt.Sprintf("Racer%d", round)
			nodes            = []*postgres.Store{a, b}
			perNode, workers = 8, 0
		)
		for n, s := range nodes {
			for i := range perNode {
				workers++
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					r := store.Resource{Tenant: "t1", Type: schema.UserResource, ID: fmt.Sprintf("r%d-n%d-%d", round, n, i),
						Attrs: map[string]any{"userName": strings.ToUpper(name[:1]) + strings.ToLower(name[1:])}, Version: 1}
					if i%2 == 1 {
						r.Attrs["userName"] = strings.ToLower(name)
					}
					err := s.Write(ctx, func(w store.Writer) error { return w.Create(ctx, r) })
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						won++
					case errors.Is(err, store.ErrConflict):
						conflicts++
					default:
						t.Errorf("create: %v", err)
					}
				}()
			}
		}
		close(start)
		wg.Wait()
		require.Equal(t, 1, won, "round %d", round)
		require.Equal(t, workers-1, conflicts, "round %d", round)
	}
}

// Concurrent adds of members to one group on two nodes lose none.
func TestConcurrentAddMembersAcrossNodes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sch := pgtest.Schema(t)
	a, b := openStore(t, sch), openStore(t, sch)
	require.NoError(t, storetest.Write(a).Tenants().Create(ctx, store.Tenant{ID: "t1", Name: "acme"}))
	const users = 300
	ids := make([]string, users)
	require.NoError(t, a.Write(ctx, func(w store.Writer) error {
		if err := w.Create(ctx, store.Resource{Tenant: "t1", Type: "Group", ID: "g", Attrs: map[string]any{"displayName": "G"}, Version: 1}); err != nil {
			return err
		}
		for i := range ids {
			ids[i] = fmt.Sprintf("u%03d", i)
			if err := w.Create(ctx, store.Resource{Tenant: "t1", Type: "User", ID: ids[i], Attrs: map[string]any{"userName": ids[i]}, Version: 1}); err != nil {
				return err
			}
		}
		return nil
	}))
	// Each worker adds a window of 40 ids; windows overlap, so the same
	// member is often added by both nodes at once.
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		added = map[string]int{}
		start = make(chan struct{})
	)
	for n, s := range []*postgres.Store{a, b} {
		for i := 0; i < users; i += 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				window := ids[i:min(i+40, users)]
				if n == 1 {
					window = reversed(window)
				}
				var got []string
				err := s.Write(ctx, func(w store.Writer) error {
					var err error
					got, err = w.AddMembers(ctx, "t1", "g", window)
					return err
				})
				assert.NoError(t, err)
				mu.Lock()
				for _, id := range got {
					added[id]++
				}
				mu.Unlock()
			}()
		}
	}
	close(start)
	wg.Wait()
	var members []string
	require.NoError(t, b.Resources().Members(ctx, "t1", "g", func(m store.Member) error {
		members = append(members, m.Value)
		return nil
	}))
	require.Equal(t, ids, members, "every member, once, in creation order")
	for _, id := range ids {
		require.Equal(t, 1, added[id], "%s reported added once", id)
	}
}

func reversed(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}

// A server that cannot be reached is store.ErrUnavailable, at once.
func TestUnavailable(t *testing.T) {
	t.Parallel()
	pgtest.ServerDSN(t)
	ctx := context.Background()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close()) // nothing listens there now
	start := time.Now()
	_, err = postgres.Open(ctx, "postgres://postgres@"+addr+"/test?sslmode=disable")
	require.ErrorIs(t, err, store.ErrUnavailable)
	require.Less(t, time.Since(start), 3*time.Second)

	// A deadline that ends while connecting is ErrUnavailable too.
	dctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	hang, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never answers
	require.NoError(t, err)
	defer hang.Close()
	start = time.Now()
	_, err = postgres.Open(dctx, "postgres://postgres@"+hang.Addr().String()+"/test?sslmode=disable")
	require.ErrorIs(t, err, store.ErrUnavailable)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Less(t, time.Since(start), 3*time.Second)
}

// A server that goes away while the store is open is store.ErrUnavailable,
// fast, for reads and writes; the store recovers when it is back.
func TestServerGoesAway(t *testing.T) {
	t.Parallel()
	dsn := pgtest.ServerDSN(t)
	ctx := context.Background()
	sch := pgtest.Schema(t)
	openStore(t, sch) // migrate directly

	p := newProxy(t, dsn)
	s, err := postgres.Open(ctx, p.dsn, postgres.WithSchema(sch), postgres.WithMaxConns(2), postgres.WithConnectTimeout(time.Second))
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, storetest.Write(s).Tenants().Create(ctx, store.Tenant{ID: "t1", Name: "acme"}))

	p.down()
	start := time.Now()
	_, err = s.Tenants().Get(ctx, "t1")
	require.ErrorIs(t, err, store.ErrUnavailable)
	err = s.Write(ctx, func(w store.Writer) error {
		return w.Create(ctx, store.Resource{Tenant: "t1", Type: "User", ID: "u1", Attrs: map[string]any{"userName": "x"}, Version: 1})
	})
	require.ErrorIs(t, err, store.ErrUnavailable)
	require.ErrorIs(t, s.Ping(ctx), store.ErrUnavailable)
	require.Less(t, time.Since(start), 3*time.Second)

	p.up()
	require.Eventually(t, func() bool { return s.Ping(ctx) == nil }, 10*time.Second, 50*time.Millisecond)
	_, err = s.Tenants().Get(ctx, "t1")
	require.NoError(t, err)
}

// proxy forwards TCP connections to the test server and can cut them all
// and refuse new ones, as a server that goes away does.
type proxy struct {
	dsn    string
	target string
	l      net.Listener
	mu     sync.Mutex
	conns  []net.Conn
	isDown bool
}

func newProxy(t *testing.T, dsn string) *proxy {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	require.NoError(t, err)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &proxy{target: net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port)), l: l}
	p.dsn = strings.Replace(dsn, net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port)), l.Addr().String(), 1)
	require.NotEqual(t, dsn, p.dsn, "the DSN names host:port")
	go p.serve()
	t.Cleanup(func() { l.Close(); p.down() })
	return p
}

func (p *proxy) serve() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.isDown {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(up, c); up.Close() }()
		go func() { _, _ = io.Copy(c, up); c.Close() }()
	}
}

func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.isDown = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *proxy) up() {
	p.mu.Lock()
	p.isDown = false
	p.mu.Unlock()
}

// A closed store reports store.ErrUnavailable.
func TestClosed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := postgres.Open(ctx, pgtest.ServerDSN(t), postgres.WithSchema(pgtest.Schema(t)), postgres.WithMaxConns(2))
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "Close is idempotent")
	require.ErrorIs(t, s.Write(ctx, func(store.Writer) error { return nil }), store.ErrUnavailable)
	require.ErrorIs(t, s.Ping(ctx), store.ErrUnavailable)
	_, err = s.MigrationsCurrent(ctx)
	require.ErrorIs(t, err, store.ErrUnavailable)
	for name, call := range map[string]func() error{
		"resources.Get": func() error { _, err := s.Resources().Get(ctx, "t", "User", "u"); return err },
		"resources.Query": func() error {
			_, err := s.Resources().Query(ctx, "t", schema.Default().User(), store.Query{})
			return err
		},
		"resources.Members": func() error {
			return s.Resources().Members(ctx, "t", "g", func(store.Member) error { return nil })
		},
		"resources.Groups":     func() error { _, err := s.Resources().Groups(ctx, "t", "u"); return err },
		"resources.GroupsOf":   func() error { _, err := s.Resources().GroupsOf(ctx, "t", []string{"u"}); return err },
		"tenants.Create":       func() error { return storetest.Write(s).Tenants().Create(ctx, store.Tenant{ID: "t", Name: "t"}) },
		"tenants.Get":          func() error { _, err := s.Tenants().Get(ctx, "t"); return err },
		"tenants.List":         func() error { _, err := s.Tenants().List(ctx); return err },
		"tenants.SetSettings":  func() error { return storetest.Write(s).Tenants().SetSettings(ctx, "t", store.TenantSettings{}) },
		"tenants.Delete":       func() error { return storetest.Write(s).Tenants().Delete(ctx, "t") },
		"tokens.Get":           func() error { _, err := s.Tokens().Get(ctx, "x"); return err },
		"tokens.Lookup":        func() error { _, err := s.Tokens().Lookup(ctx, "x"); return err },
		"tokens.DeleteExpired": func() error { _, err := s.Tokens().DeleteExpired(ctx, time.Now()); return err },
		"clients.Create": func() error {
			return storetest.Write(s).OAuthClients().Create(ctx, store.OAuthClient{ID: "c", Tenant: "t"})
		},
		"clients.List":          func() error { _, err := s.OAuthClients().List(ctx, "t"); return err },
		"admins.Create":         func() error { return storetest.Write(s).Admins().Create(ctx, store.Admin{ID: "a", Name: "a"}) },
		"admins.Delete":         func() error { return storetest.Write(s).Admins().Delete(ctx, "a") },
		"admins.DeleteSessions": func() error { return storetest.Write(s).Admins().DeleteSessions(ctx, "a", "") },
		"audit.Append": func() error {
			return storetest.Write(s).Audit().Append(ctx, &store.AuditEvent{Actor: "x", Action: "y"})
		},
		"audit.List":     func() error { _, err := s.Audit().List(ctx, store.AuditQuery{}); return err },
		"settings.Get":   func() error { _, err := s.Settings().Get(ctx, "k"); return err },
		"settings.Set":   func() error { return storetest.Write(s).Settings().Set(ctx, "k", "v") },
		"leases.Acquire": func() error { _, err := s.Leases().Acquire(ctx, "l", "h", time.Second); return err },
		"leases.Release": func() error { return s.Leases().Release(ctx, "l", "h") },
		"history.List": func() error {
			_, err := s.History().List(ctx, store.HistoryQuery{Tenant: "t"})
			return err
		},
		"history.Purge": func() error { _, err := s.History().Purge(ctx, time.Now(), 10); return err },
		"events.List":   func() error { _, _, err := s.Events().List(ctx, store.EventQuery{}); return err },
		"events.Purge":  func() error { _, err := s.Events().Purge(ctx, time.Now(), 10); return err },
		"events.Oldest": func() error { _, err := s.Events().Oldest(ctx); return err },
		"webhooks.Create": func() error {
			return storetest.Write(s).Webhooks().Create(ctx, store.WebhookEndpoint{ID: "w", Tenant: "t"})
		},
		"webhooks.List":   func() error { _, err := s.Webhooks().List(ctx, ""); return err },
		"webhooks.Delete": func() error { return storetest.Write(s).Webhooks().Delete(ctx, "w") },
	} {
		require.ErrorIs(t, call(), store.ErrUnavailable, name)
	}
}

// Close waits for the writes in progress; those that come later fail.
func TestCloseDuringWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := postgres.Open(ctx, pgtest.ServerDSN(t), postgres.WithSchema(pgtest.Schema(t)), postgres.WithMaxConns(4))
	require.NoError(t, err)
	require.NoError(t, storetest.Write(s).Tenants().Create(ctx, store.Tenant{ID: "t1", Name: "acme"}))
	errs := make(chan error, 100)
	for i := range 100 {
		go func() {
			errs <- s.Write(ctx, func(w store.Writer) error {
				return w.Create(ctx, store.Resource{Tenant: "t1", Type: "User", ID: fmt.Sprint(i), Attrs: map[string]any{"userName": fmt.Sprint(i)}, Version: 1})
			})
		}()
	}
	require.NoError(t, s.Close())
	for range 100 {
		if err := <-errs; err != nil {
			require.ErrorIs(t, err, store.ErrUnavailable)
		}
	}
}

// Open reaches the schema named by search_path in the DSN too, as the
// multi-node tests configure it.
func TestSearchPathInDSN(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sch := pgtest.Schema(t)
	sep := "?"
	if strings.Contains(pgtest.ServerDSN(t), "?") {
		sep = "&"
	}
	s, err := postgres.Open(ctx, pgtest.ServerDSN(t)+sep+"search_path="+sch, postgres.WithMaxConns(2))
	require.NoError(t, err)
	defer s.Close()
	require.NoError(t, storetest.Write(s).Tenants().Create(ctx, store.Tenant{ID: "t1", Name: "acme"}))
	other := openStore(t, sch)
	_, err = other.Tenants().Get(ctx, "t1")
	require.NoError(t, err)
}

// WithSchema names a schema that Open creates when it does not exist, as
// on a node's first start.
func TestOpenCreatesSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := pgtest.ServerDSN(t)
	sch := pgtest.Schema(t) + "_new" // a name no one uses, and not yet a schema
	t.Cleanup(func() { require.NoError(t, pgtest.Drop(dsn, sch)) })
	s := openStore(t, sch)
	var current string
	require.NoError(t, s.Pool().QueryRow(ctx, "SELECT current_schema()").Scan(&current))
	require.Equal(t, sch, current)
	require.NoError(t, storetest.Write(s).Tenants().Create(ctx, store.Tenant{ID: "t1", Name: "acme"}))
}

// TestMaintainAnalyzesStaleTables shows Maintain gathering statistics for a
// table that grew while nothing analyzed it (as on a server with autovacuum
// off), so that the planner stops taking it for empty.
func TestMaintainAnalyzesStaleTables(t *testing.T) {
	t.Parallel()
	s := pgtest.Open(t)
	ctx := context.Background()
	require.NoError(t, storetest.Write(s).Tenants().Create(ctx, store.Tenant{ID: "t1", Name: "acme"}))
	require.NoError(t, s.Write(ctx, func(w store.Writer) error {
		for i := range 3000 {
			r := store.Resource{Tenant: "t1", Type: "User", ID: fmt.Sprint("u", i), Attrs: map[string]any{"userName": fmt.Sprint("user", i)}, Version: 1}
			if err := w.Create(ctx, r); err != nil {
				return err
			}
		}
		return nil
	}))
	analyzed := func() bool {
		var n int
		err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_stat_user_tables
			WHERE schemaname = current_schema() AND relname = 'resources' AND last_analyze IS NOT NULL`).Scan(&n)
		require.NoError(t, err)
		return n == 1
	}
	// (The creates may already have triggered an analysis of their own, so
	// the test does not check that the table starts unanalyzed.) Table
	// statistics reach pg_stat_user_tables shortly after the commit.
	require.Eventually(t, func() bool {
		require.NoError(t, s.Maintain(ctx))
		return analyzed()
	}, 10*time.Second, 200*time.Millisecond, "resources was analyzed")
}

// TestOlderBuildRefusesWrites: once a node with a newer build has migrated
// the schema past this build, this node's writes fail with
// store.ErrSchemaAhead (an ErrUnavailable: 503 for SCIM clients) instead of
// being acknowledged without what the newer schema records with them.
func TestOlderBuildRefusesWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	sch := pgtest.Schema(t)
	s := openStore(t, sch)
	require.NoError(t, storetest.Write(s).Tenants().Create(ctx, store.Tenant{ID: "t1", Name: "acme"}))
	var latest int
	require.NoError(t, s.Pool().QueryRow(ctx, "SELECT max(version) FROM schema_migrations").Scan(&latest))
	_, err := s.Pool().Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, 'from_the_future')", latest+1)
	require.NoError(t, err)

	// Another node opened after the migration refuses writes from its start.
	other := openStore(t, sch)
	err = other.Write(ctx, func(w store.Writer) error { return w.Settings().Set(ctx, "k", "v") })
	require.ErrorIs(t, err, store.ErrSchemaAhead)
	require.ErrorIs(t, err, store.ErrUnavailable)
	_, err = other.Tenants().Get(ctx, "t1")
	require.NoError(t, err, "reads go on")
	require.Error(t, other.Ping(ctx), "not ready either")
}
