package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/store/storetest"

	"github.com/jackc/pgx/v5"

	"github.com/rosterhq/roster/internal/scim/filter"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/pgtest"
	"github.com/rosterhq/roster/internal/store/postgres"
)

// The benchmarks mirror those of the SQLite backend, on a schema seeded
// with ROSTER_BENCH_USERS users (default 10,000), all members of one group.
// Seeding loads the rows with COPY and builds the indexes afterwards: about
// 3 minutes for 1,000,000. The seeded schema is shared by the benchmarks of
// one run and dropped at its end, unless ROSTER_BENCH_KEEP=1, which keeps it
// (as roster_bench_<users>) for the next run:
//
//	ROSTER_TEST_PG_DSN=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	ROSTER_BENCH_USERS=1000000 go test ./internal/store/postgres -run '^$' -bench . -benchtime 2000x

const benchTenant = "bench-tenant"

func benchUsers() int {
	if n, err := strconv.Atoi(os.Getenv("ROSTER_BENCH_USERS")); err == nil && n > 0 {
		return n
	}
	return 10_000
}

func benchID(i int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i) }

func benchUserName(i int) string { return fmt.Sprintf("user%07d@example.com", i) }

// benchUser is a user with the attributes an identity provider typically
// sends.
func benchUser(id string, i int) store.Resource {
	now := time.Now().UTC()
	return store.Resource{
		Tenant: benchTenant, Type: schema.UserResource, ID: id, Created: now, Modified: now, Version: 1,
		Attrs: map[string]any{
			"userName":    benchUserName(i),
			"externalId":  fmt.Sprintf("ext-%07d", i),
			"displayName": fmt.Sprintf("User %d", i),
			"active":      true,
			"name":        map[string]any{"givenName": "Given", "familyName": fmt.Sprintf("Family%d", i%1000)},
			"emails": []any{
				map[string]any{"value": benchUserName(i), "type": "work", "primary": true},
			},
		},
	}
}

// withParam adds a run-time parameter such as "synchronous_commit=off" to
// a URL DSN.
func withParam(dsn, param string) string {
	if param == "" {
		return dsn
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + param
}

// benchChange is the change of creating r as the SCIM service records it:
// every attribute set, and a user.created event carrying the resource.
func benchChange(r store.Resource) *store.Change {
	attrs := make([]store.AttrChange, 0, len(r.Attrs))
	for _, k := range slices.Sorted(maps.Keys(r.Attrs)) {
		attrs = append(attrs, store.AttrChange{Path: k, After: r.Attrs[k]})
	}
	body := map[string]any{"id": r.ID, "schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}}
	maps.Copy(body, r.Attrs)
	data, err := json.Marshal(body)
	if err != nil {
		panic(err)
	}
	name, _ := r.Attrs["userName"].(string)
	return &store.Change{
		Tenant: r.Tenant, Time: r.Created, ResourceType: r.Type, ResourceID: r.ID, ResourceName: name,
		Operation: "create", Version: 1, Actor: "Scim System User", ActorLabel: "Okta", Credential: "token:bench",
		RequestID: "req-" + r.ID, ClientAddr: "203.0.113.7", Attributes: attrs,
		Events: []store.Event{{ID: "ev-" + r.ID, Type: store.UserCreated, Time: r.Created, ResourceType: r.Type,
			ResourceID: r.ID, Data: data}},
	}
}

var seeded struct {
	once     sync.Once
	poolOnce sync.Once
	schema   string
	keep     bool
	s        *postgres.Store
	err      error
}

// seededStore returns the shared seeded store: benchUsers() users plus a
// group "big" with all of them as members.
func seededStore(tb testing.TB) *postgres.Store {
	tb.Helper()
	dsn := pgtest.ServerDSN(tb)
	seeded.once.Do(func() {
		ctx := context.Background()
		n := benchUsers()
		seeded.keep = os.Getenv("ROSTER_BENCH_KEEP") == "1"
		seeded.schema = "roster_bench_" + strconv.FormatUint(rand.Uint64(), 36)
		if seeded.keep {
			seeded.schema = fmt.Sprintf("roster_bench_%d", n)
		}
		s, err := postgres.Open(ctx, dsn, postgres.WithSchema(seeded.schema))
		if err != nil {
			seeded.err = err
			return
		}
		seeded.s = s
		if v, err := s.Settings().Get(ctx, "bench_seeded"); err == nil && v == strconv.Itoa(n) {
			fmt.Fprintf(os.Stderr, "reusing schema %s with %d users\n", seeded.schema, n)
			return
		}
		if seeded.err = seed(ctx, s, n); seeded.err == nil {
			seeded.err = storetest.Write(s).Settings().Set(ctx, "bench_seeded", strconv.Itoa(n))
		}
	})
	if seeded.err != nil {
		tb.Fatal(seeded.err)
	}
	return seeded.s
}

// seed loads n users and the group "big" holding them all: the resource
// tables' secondary indexes are dropped, the rows copied in, and the
// indexes built again, then the tables analyzed.
func seed(ctx context.Context, s *postgres.Store, n int) error {
	start := time.Now()
	if err := storetest.Write(s).Tenants().Create(ctx, store.Tenant{ID: benchTenant, Name: "bench"}); err != nil {
		return err
	}
	big := store.Resource{Tenant: benchTenant, Type: schema.GroupResource, ID: "big", Attrs: map[string]any{"displayName": "Everyone"}, Version: 1}
	if err := s.Write(ctx, func(w store.Writer) error { return w.Create(ctx, big) }); err != nil {
		return err
	}
	conn, err := s.Pool().Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	rows, err := conn.Query(ctx, `SELECT indexname::text, indexdef FROM pg_indexes
		WHERE schemaname = current_schema() AND tablename IN ('resources', 'resource_values', 'memberships')
			AND indexname NOT LIKE '%\_pkey' ORDER BY indexname`)
	if err != nil {
		return err
	}
	type index struct{ name, def string }
	indexes, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (index, error) {
		var i index
		err := r.Scan(&i.name, &i.def)
		return i, err
	})
	if err != nil {
		return err
	}
	for _, i := range indexes {
		if _, err := conn.Exec(ctx, "DROP INDEX "+pgx.Identifier{i.name}.Sanitize()); err != nil {
			return err
		}
	}
	if err := s.BulkLoad(ctx, benchTenant, n, func(i int) store.Resource { return benchUser(benchID(i), i) }, "big"); err != nil {
		return err
	}
	loaded := time.Since(start)
	if _, err := conn.Exec(ctx, "SET maintenance_work_mem = '1GB'"); err != nil {
		return err
	}
	for _, i := range indexes {
		if _, err := conn.Exec(ctx, i.def); err != nil {
			return err
		}
	}
	if _, err := conn.Exec(ctx, "RESET maintenance_work_mem"); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "VACUUM ANALYZE resources, resource_values, memberships, resource_counts"); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "seeded %d users and a group of %d members in %s (rows %s, indexes and analyze %s)\n",
		n, n, time.Since(start).Round(time.Millisecond), loaded.Round(time.Millisecond), (time.Since(start) - loaded).Round(time.Millisecond))
	return nil
}

func TestMain(m *testing.M) {
	code := m.Run()
	if seeded.s != nil {
		seeded.s.Close()
		if !seeded.keep {
			if err := pgtest.Drop(os.Getenv(pgtest.EnvDSN), seeded.schema); err != nil {
				fmt.Fprintln(os.Stderr, err)
			}
		}
	}
	os.Exit(code)
}

// latencies records per-operation durations to report percentiles.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) report(b *testing.B) {
	if len(l.d) == 0 {
		return
	}
	slices.Sort(l.d)
	b.ReportMetric(float64(l.d[len(l.d)*50/100].Microseconds()), "p50-µs")
	b.ReportMetric(float64(l.d[len(l.d)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkCreateUser creates users from 32 goroutines (GOMAXPROCS×16 on
// two cores), the concurrency of the HTTP target, into one tenant of an
// empty schema: with the count spread over 16 rows (the default) and over
// one, which every create then locks until it commits; with
// synchronous_commit off, which does not wait for the WAL flush (SQLite's
// synchronous=NORMAL does not either); and into the seeded tenant. The
// Record variants also record each create's change, with its history entry
// and event, as the SCIM service does.
func BenchmarkCreateUser(b *testing.B) {
	for _, mode := range []struct {
		name   string
		param  string
		opts   []postgres.Option
		seeded bool
		record bool
	}{
		{"CountShards16", "", nil, false, false},
		{"CountShards16Record", "", nil, false, true},
		{"CountShards1", "", []postgres.Option{postgres.WithCountShards(1)}, false, false},
		{"SyncCommitOff", "synchronous_commit=off", nil, false, false},
		{"SyncCommitOffRecord", "synchronous_commit=off", nil, false, true},
		{"SeededTenant", "", nil, true, false},
		{"SeededTenantRecord", "", nil, true, true},
	} {
		b.Run(mode.name, func(b *testing.B) {
			ctx := context.Background()
			var s *postgres.Store
			prefix := ""
			if mode.seeded {
				s = seededStore(b)
				prefix = "bench-create-" + strconv.FormatUint(rand.Uint64(), 36) + "-"
			} else {
				var err error
				s, err = postgres.Open(ctx, withParam(pgtest.ServerDSN(b), mode.param), append([]postgres.Option{postgres.WithSchema(pgtest.Schema(b))}, mode.opts...)...)
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				if err := storetest.Write(s).Tenants().Create(ctx, store.Tenant{ID: benchTenant, Name: "bench"}); err != nil {
					b.Fatal(err)
				}
			}
			var next atomic.Int64
			if mode.seeded {
				next.Store(int64(benchUsers()) + rand.Int64N(1<<40))
			}
			var lat latencies
			b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0)))
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := int(next.Add(1))
					r := benchUser(prefix+benchID(i), i)
					var c *store.Change
					if mode.record {
						c = benchChange(r)
					}
					t0 := time.Now()
					if err := s.Write(ctx, func(w store.Writer) error {
						if err := w.Create(ctx, r); err != nil || c == nil {
							return err
						}
						return w.Record(ctx, c)
					}); err != nil {
						b.Error(err)
						return
					}
					lat.add(time.Since(t0))
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "creates/s")
			b.StopTimer()
			lat.report(b)
		})
	}
}

// BenchmarkCreateUserSerial creates users one at a time, from one
// goroutine, into an empty schema: the latency of one Write, without and
// with Record.
func BenchmarkCreateUserSerial(b *testing.B) {
	for _, mode := range []struct {
		name   string
		param  string
		record bool
	}{
		{"Create", "", false},
		{"CreateRecord", "", true},
		{"SyncCommitOffCreate", "synchronous_commit=off", false},
		{"SyncCommitOffCreateRecord", "synchronous_commit=off", true},
	} {
		b.Run(mode.name, func(b *testing.B) {
			ctx := context.Background()
			s, err := postgres.Open(ctx, withParam(pgtest.ServerDSN(b), mode.param), postgres.WithSchema(pgtest.Schema(b)))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if err := storetest.Write(s).Tenants().Create(ctx, store.Tenant{ID: benchTenant, Name: "bench"}); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := range b.N {
				r := benchUser(benchID(i), i)
				var c *store.Change
				if mode.record {
					c = benchChange(r)
				}
				if err := s.Write(ctx, func(w store.Writer) error {
					if err := w.Create(ctx, r); err != nil || c == nil {
						return err
					}
					return w.Record(ctx, c)
				}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLookupUserName answers `userName eq "…"`, the lookup every
// identity provider makes before creating a user, on the seeded store.
func BenchmarkLookupUserName(b *testing.B) {
	benchQuery(b, 1, func(rnd *rand.Rand, n int) string {
		return fmt.Sprintf(`userName eq "%s"`, benchUserName(rnd.IntN(n)))
	})
}

// BenchmarkLookupExternalID answers `externalId eq "…"`.
func BenchmarkLookupExternalID(b *testing.B) {
	benchQuery(b, 1, func(rnd *rand.Rand, n int) string {
		return fmt.Sprintf(`externalId eq "ext-%07d"`, rnd.IntN(n))
	})
}

// BenchmarkLookupEmail answers `emails[type eq "work"].value eq "…"`
// through resource_values.
func BenchmarkLookupEmail(b *testing.B) {
	benchQuery(b, 1, func(rnd *rand.Rand, n int) string {
		return fmt.Sprintf(`emails[type eq "work"].value eq "%s"`, benchUserName(rnd.IntN(n)))
	})
}

// BenchmarkUserNameStartsWith answers `userName sw "…"` with a prefix that
// 100 users share (10 below 1,000 users), through the btree on the folded
// userName.
func BenchmarkUserNameStartsWith(b *testing.B) {
	benchQuery(b, -1, func(rnd *rand.Rand, n int) string {
		return fmt.Sprintf(`userName sw "user%05d"`, rnd.IntN(max(1, n/100)))
	})
}

// BenchmarkDisplayNameContains answers `displayName co "…"` through the
// trigram index on the folded displayName.
func BenchmarkDisplayNameContains(b *testing.B) {
	benchQuery(b, -1, func(rnd *rand.Rand, n int) string {
		return fmt.Sprintf(`displayName co "er %d"`, n/2+rnd.IntN(n/2))
	})
}

// BenchmarkListPage reads an unfiltered page of 100 users with its total.
func BenchmarkListPage(b *testing.B) {
	benchQuery(b, 0, func(*rand.Rand, int) string { return "" })
}

// benchQuery runs the queries filterText makes, from GOMAXPROCS goroutines;
// want is the total each must have: 0 for an unfiltered page of 100, -1
// for any but none.
func benchQuery(b *testing.B, want int, filterText func(*rand.Rand, int) string) {
	s := seededStore(b)
	ctx := context.Background()
	rt := schema.Default().User()
	n := benchUsers()
	var lat latencies
	var seed atomic.Uint64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rnd := rand.New(rand.NewPCG(seed.Add(1), 1))
		for pb.Next() {
			q := store.Query{StartIndex: 1, Count: 100}
			if text := filterText(rnd, n); text != "" {
				e, err := filter.Parse(text)
				if err == nil {
					e, err = filter.Validate(e, rt)
				}
				if err != nil {
					b.Error(err)
					return
				}
				q.Filter = e
			}
			t0 := time.Now()
			page, err := s.Resources().Query(ctx, benchTenant, rt, q)
			lat.add(time.Since(t0))
			ok := err == nil
			switch {
			case want == 0:
				ok = ok && len(page.Resources) == 100
			case want > 0:
				ok = ok && page.Total == want
			default:
				ok = ok && page.Total > 0
			}
			if !ok {
				b.Errorf("query: total %d, %d resources, %v", page.Total, len(page.Resources), err)
				return
			}
		}
	})
	b.StopTimer()
	lat.report(b)
}

// BenchmarkAddMembers100 adds 100 users to the group holding every seeded
// user; the users are removed again outside the timer.
func BenchmarkAddMembers100(b *testing.B) {
	s := seededStore(b)
	ctx := context.Background()
	// A pool of users that are not members of "big".
	const pool = 1000
	var err error
	seeded.poolOnce.Do(func() {
		err = s.Write(ctx, func(w store.Writer) error {
			for i := range pool {
				if err := w.Create(ctx, benchUser("pool-"+strconv.Itoa(i), 100_000_000+i)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil && strings.Contains(err.Error(), "taken") {
			err = nil // kept from an earlier run
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	var lat latencies
	b.ResetTimer()
	for i := range b.N {
		ids := make([]string, 100)
		for j := range ids {
			ids[j] = "pool-" + strconv.Itoa((i*100+j)%pool)
		}
		t0 := time.Now()
		err := s.Write(ctx, func(w store.Writer) error {
			added, err := w.AddMembers(ctx, benchTenant, "big", ids)
			if err == nil && len(added) != len(ids) {
				err = fmt.Errorf("added %d of %d", len(added), len(ids))
			}
			return err
		})
		lat.add(time.Since(t0))
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := s.Write(ctx, func(w store.Writer) error {
			_, err := w.RemoveMembers(ctx, benchTenant, "big", ids)
			return err
		}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.StopTimer()
	lat.report(b)
}

// BenchmarkDeleteTenant deletes a tenant of benchUsers() users, all members
// of one group, next to another tenant; seeding is not timed. Meanwhile one
// goroutine keeps creating users in the other tenant, and the benchmark
// reports the longest of those writes (max-other-write-ms). At 1,000,000
// users run it once:
//
//	ROSTER_BENCH_USERS=1000000 go test ./internal/store/postgres -run '^$' -bench DeleteTenant -benchtime 1x
func BenchmarkDeleteTenant(b *testing.B) {
	ctx := context.Background()
	var (
		maxWait time.Duration
		writes  int
	)
	for range b.N {
		b.StopTimer()
		s, err := postgres.Open(ctx, pgtest.ServerDSN(b), postgres.WithSchema(pgtest.Schema(b)), postgres.WithMaxConns(8))
		if err != nil {
			b.Fatal(err)
		}
		if err := seed(ctx, s, benchUsers()); err != nil {
			b.Fatal(err)
		}
		if err := storetest.Write(s).Tenants().Create(ctx, store.Tenant{ID: "other", Name: "other"}); err != nil {
			b.Fatal(err)
		}
		stop, stopped := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(stopped)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				r := store.Resource{Tenant: "other", Type: schema.UserResource, ID: benchID(i), Attrs: map[string]any{"userName": benchUserName(i)}, Version: 1}
				t0 := time.Now()
				if err := s.Write(ctx, func(w store.Writer) error { return w.Create(ctx, r) }); err != nil {
					b.Error(err)
					return
				}
				maxWait = max(maxWait, time.Since(t0))
				writes++
			}
		}()
		b.StartTimer()
		if err := storetest.Write(s).Tenants().Delete(ctx, benchTenant); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		close(stop)
		<-stopped
		if _, err := s.Resources().Get(ctx, "other", schema.UserResource, benchID(0)); err != nil {
			b.Fatal(err)
		}
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(maxWait.Microseconds())/1000, "max-other-write-ms")
	b.ReportMetric(float64(writes)/float64(b.N), "other-writes/op")
}

// The provisioning store's writes in the engine's batches, and a stream of
// an initial cycle's links (see storetest.BenchPutLinks), each on a fresh
// schema:
//
//	ROSTER_TEST_PG_DSN=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	go test ./internal/store/postgres -run '^$' -bench 'PutLinks|AppendLogs|StreamLinks|InitialCycle'

func BenchmarkPutLinks500(b *testing.B) { storetest.BenchPutLinks(b, pgtest.Open(b)) }

func BenchmarkAppendLogs500(b *testing.B) { storetest.BenchAppendLogs(b, pgtest.Open(b)) }

func BenchmarkStreamLinks100k(b *testing.B) { storetest.BenchStreamLinks(b, pgtest.Open(b), 100_000) }

func BenchmarkInitialCycle100k(b *testing.B) {
	storetest.BenchInitialCycle(b, func() store.Store { return pgtest.Open(b) }, 100_000)
}
