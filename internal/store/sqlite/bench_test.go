package sqlite_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/store/storetest"

	"github.com/rosterhq/roster/internal/scim/filter"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/sqlite"
)

// The benchmarks run against a database seeded with ROSTER_BENCH_USERS users
// (default 10,000), all members of one group. Seeding 1,000,000 takes about
// a minute; the seeded file is shared by the benchmarks of one run:
//
//	ROSTER_BENCH_USERS=1000000 go test ./internal/store/sqlite -run '^$' -bench . -benchtime 2000x

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

var seeded struct {
	once     sync.Once
	poolOnce sync.Once
	dir      string
	s        *sqlite.Store
	err      error
}

// seededStore returns the shared seeded store: benchUsers() users plus a
// group "big" with all of them as members.
func seededStore(b *testing.B) *sqlite.Store {
	b.Helper()
	seeded.once.Do(func() {
		seeded.dir, seeded.err = os.MkdirTemp("", "roster-bench-")
		if seeded.err != nil {
			return
		}
		ctx := context.Background()
		s, err := sqlite.Open(ctx, filepath.Join(seeded.dir, "bench.db"))
		if err != nil {
			seeded.err = err
			return
		}
		seeded.s, seeded.err = s, seed(ctx, s, benchUsers())
	})
	if seeded.err != nil {
		b.Fatal(seeded.err)
	}
	return seeded.s
}

// seed bulk-loads n users and the group "big" holding them all, in large
// transactions through the ordinary write path.
func seed(ctx context.Context, s *sqlite.Store, n int) error {
	start := time.Now()
	if err := storetest.Write(s).Tenants().Create(ctx, store.Tenant{ID: benchTenant, Name: "bench"}); err != nil {
		return err
	}
	const batch = 5000
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		err := s.Write(ctx, func(w store.Writer) error {
			for i := lo; i < hi; i++ {
				if err := w.Create(ctx, benchUser(benchID(i), i)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	big := store.Resource{Tenant: benchTenant, Type: schema.GroupResource, ID: "big", Attrs: map[string]any{"displayName": "Everyone"}, Version: 1}
	if err := s.Write(ctx, func(w store.Writer) error { return w.Create(ctx, big) }); err != nil {
		return err
	}
	for lo := 0; lo < n; lo += batch {
		ids := make([]string, 0, batch)
		for i := lo; i < min(lo+batch, n); i++ {
			ids = append(ids, benchID(i))
		}
		err := s.Write(ctx, func(w store.Writer) error {
			_, err := w.AddMembers(ctx, benchTenant, "big", ids)
			return err
		})
		if err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "seeded %d users and a group of %d members in %s\n", n, n, time.Since(start).Round(time.Millisecond))
	return nil
}

func TestMain(m *testing.M) {
	code := m.Run()
	if seeded.s != nil {
		seeded.s.Close()
	}
	if seeded.dir != "" {
		os.RemoveAll(seeded.dir)
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
// two cores), the concurrency of the HTTP target, with and without group
// commit.
func BenchmarkCreateUser(b *testing.B) { benchCreate(b, false) }

// BenchmarkCreateWithRecord is BenchmarkCreateUser with the history entry
// and the user.created event that every SCIM create records in its write
// (Writer.Record): the cost of the history and the outbox.
func BenchmarkCreateWithRecord(b *testing.B) { benchCreate(b, true) }

func benchCreate(b *testing.B, record bool) {
	for _, mode := range []struct {
		name string
		opts []sqlite.Option
	}{
		{"GroupCommit", nil},
		{"TxPerWrite", []sqlite.Option{sqlite.WithGroupCommit(false)}},
		{"GroupCommitSyncFull", []sqlite.Option{sqlite.WithSynchronousFull()}},
	} {
		b.Run(mode.name, func(b *testing.B) {
			ctx := context.Background()
			s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "create.db"), mode.opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if err := storetest.Write(s).Tenants().Create(ctx, store.Tenant{ID: benchTenant, Name: "bench"}); err != nil {
				b.Fatal(err)
			}
			var next atomic.Int64
			b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0)))
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := int(next.Add(1))
					r := benchUser(benchID(i), i)
					var c *store.Change
					if record {
						var err error
						if c, err = benchChange(r); err != nil {
							b.Error(err)
							return
						}
					}
					err := s.Write(ctx, func(w store.Writer) error {
						if err := w.Create(ctx, r); err != nil || c == nil {
							return err
						}
						return w.Record(ctx, c)
					})
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "creates/s")
		})
	}
}

// benchChange is the change of creating r as the SCIM service records it:
// every attribute set, and a user.created event carrying the resource.
func benchChange(r store.Resource) (*store.Change, error) {
	data, err := json.Marshal(map[string]any{"id": r.ID, "resource": r.Attrs})
	if err != nil {
		return nil, err
	}
	c := &store.Change{
		Tenant: r.Tenant, Time: r.Created, ResourceType: r.Type, ResourceID: r.ID, ResourceName: r.Attrs["userName"].(string),
		Operation: "create", Version: 1, Actor: "Scim System User", ActorLabel: "Okta", Credential: "token:bench",
		RequestID: "req-" + r.ID, ClientAddr: "203.0.113.7",
		Events: []store.Event{{ID: r.ID, Type: store.UserCreated, Time: r.Created, Data: data}},
	}
	for _, k := range slices.Sorted(maps.Keys(r.Attrs)) {
		c.Attributes = append(c.Attributes, store.AttrChange{Path: k, After: r.Attrs[k]})
	}
	return c, nil
}

// BenchmarkLookupUserName answers `userName eq "…"`, the lookup every
// identity provider makes before creating a user, on the seeded store.
func BenchmarkLookupUserName(b *testing.B) {
	benchQuery(b, func(rnd *rand.Rand, n int) string {
		return fmt.Sprintf(`userName eq "%s"`, benchUserName(rnd.IntN(n)))
	})
}

// BenchmarkLookupEmail answers `emails[type eq "work"].value eq "…"`
// through resource_values.
func BenchmarkLookupEmail(b *testing.B) {
	benchQuery(b, func(rnd *rand.Rand, n int) string {
		return fmt.Sprintf(`emails[type eq "work"].value eq "%s"`, benchUserName(rnd.IntN(n)))
	})
}

// BenchmarkListPage reads an unfiltered page of 100 users with its total.
func BenchmarkListPage(b *testing.B) {
	benchQuery(b, func(*rand.Rand, int) string { return "" })
}

func benchQuery(b *testing.B, filterText func(*rand.Rand, int) string) {
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
			if err != nil || (q.Filter != nil && page.Total != 1) || (q.Filter == nil && len(page.Resources) != 100) {
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
// reports the longest of those writes (max-other-write-ms): the deletion
// runs in batches, so that no write waits for the whole of it. At 1,000,000
// users run it once:
//
//	ROSTER_BENCH_USERS=1000000 go test ./internal/store/sqlite -run '^$' -bench DeleteTenant -benchtime 1x
func BenchmarkDeleteTenant(b *testing.B) {
	ctx := context.Background()
	var (
		maxWait time.Duration
		writes  int
	)
	for range b.N {
		b.StopTimer()
		s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "delete.db"))
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
// an initial cycle's links (see storetest.BenchPutLinks):
//
//	go test ./internal/store/sqlite -run '^$' -bench 'PutLinks|AppendLogs|StreamLinks|InitialCycle'

func BenchmarkPutLinks500(b *testing.B) { storetest.BenchPutLinks(b, newStore(b)) }

func BenchmarkAppendLogs500(b *testing.B) { storetest.BenchAppendLogs(b, newStore(b)) }

func BenchmarkStreamLinks100k(b *testing.B) { storetest.BenchStreamLinks(b, newStore(b), 100_000) }

func BenchmarkInitialCycle100k(b *testing.B) {
	storetest.BenchInitialCycle(b, func() store.Store { return newStore(b) }, 100_000)
}
