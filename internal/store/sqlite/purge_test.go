package sqlite

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/store/storetest"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/store"
)

// openTest opens the database at path and closes it when the test ends.
func openTest(t *testing.T, path string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(context.Background(), path, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

// withPurge sets the rows a purge batch deletes and a hook called before
// each batch.
func withPurge(rows int, hook func(key int64) error) Option {
	return func(c *config) {
		if rows > 0 {
			c.purgeRows = rows
		}
		c.purgeHook = hook
	}
}

// scaled returns n, or a twentieth of it under the race detector: the
// tests of deletion in batches keep their shape (the number of batches, the
// writes between them) at a twentieth of the size.
func scaled(n int) int {
	if raceEnabled {
		return max(1, n/20)
	}
	return n
}

// seedBig creates tenant id with n users of two emails each, each with a
// history entry and an event, a group "all" of them all and of group "g0",
// and groups g0…g9 of 100 users each, plus a token, an OAuth client and a
// webhook endpoint.
func seedBig(t *testing.T, s *Store, id string, n int) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, storetest.Write(s).Tenants().Create(ctx, store.Tenant{ID: id, Name: id}))
	require.NoError(t, storetest.Write(s).Tokens().Create(ctx, store.Token{ID: "tok-" + id, Tenant: id, SecretHash: []byte{1}}))
	require.NoError(t, storetest.Write(s).OAuthClients().Create(ctx, store.OAuthClient{ID: "client-" + id, Tenant: id, SecretHash: []byte{2}}))
	require.NoError(t, storetest.Write(s).Webhooks().Create(ctx, store.WebhookEndpoint{ID: "wh-" + id, Tenant: id, URL: "https://x.example", MaxAttempts: 1}))
	const batch = 5000
	for lo := 0; lo < n; lo += batch {
		require.NoError(t, s.Write(ctx, func(w store.Writer) error {
			for i := lo; i < min(lo+batch, n); i++ {
				if err := w.Create(ctx, bigUser(id, i)); err != nil {
					return err
				}
				if err := w.Record(ctx, bigChange(id, i)); err != nil {
					return err
				}
			}
			return nil
		}))
	}
	require.NoError(t, s.Write(ctx, func(w store.Writer) error {
		for _, g := range []string{"all", "g0", "g1", "g2", "g3", "g4", "g5", "g6", "g7", "g8", "g9"} {
			err := w.Create(ctx, store.Resource{Tenant: id, Type: schema.GroupResource, ID: g, Attrs: map[string]any{"displayName": g}, Version: 1})
			if err != nil {
				return err
			}
		}
		for g := range 10 {
			ids := make([]string, 0, 100)
			for i := g * 100; i < min(g*100+100, n); i++ {
				ids = append(ids, "u"+strconv.Itoa(i))
			}
			if _, err := w.AddMembers(ctx, id, "g"+strconv.Itoa(g), ids); err != nil {
				return err
			}
		}
		_, err := w.AddMembers(ctx, id, "all", []string{"g0"})
		return err
	}))
	for lo := 0; lo < n; lo += batch {
		ids := make([]string, 0, batch)
		for i := lo; i < min(lo+batch, n); i++ {
			ids = append(ids, "u"+strconv.Itoa(i))
		}
		require.NoError(t, s.Write(ctx, func(w store.Writer) error {
			_, err := w.AddMembers(ctx, id, "all", ids)
			return err
		}))
	}
}

func bigUser(tenant string, i int) store.Resource {
	name := fmt.Sprintf("user%d@%s.example", i, tenant)
	return store.Resource{Tenant: tenant, Type: schema.UserResource, ID: "u" + strconv.Itoa(i), Version: 1, Attrs: map[string]any{
		"userName":    name,
		"externalId":  "ext-" + strconv.Itoa(i),
		"displayName": "User " + strconv.Itoa(i),
		"emails": []any{
			map[string]any{"value": name, "type": "work", "primary": true},
			map[string]any{"value": "home-" + name, "type": "home"},
		},
	}}
}

// bigChange is the history entry and event of creating bigUser(tenant, i).
func bigChange(tenant string, i int) *store.Change {
	u := bigUser(tenant, i)
	data, _ := json.Marshal(u.Attrs)
	return &store.Change{Tenant: tenant, ResourceType: u.Type, ResourceID: u.ID, ResourceName: u.Attrs["userName"].(string),
		Operation: "create", Version: 1, Actor: "Scim System User", RequestID: "req-" + u.ID,
		Attributes: []store.AttrChange{{Path: "userName", After: u.Attrs["userName"]}, {Path: "emails", After: u.Attrs["emails"]}},
		Events:     []store.Event{{ID: tenant + "-" + u.ID, Type: store.UserCreated, Data: data}}}
}

// keyOf returns the key of a live tenant.
func keyOf(t *testing.T, s *Store, id string) int64 {
	t.Helper()
	var k int64
	require.NoError(t, s.rdb.QueryRow("SELECT key FROM tenants WHERE id = ?1", id).Scan(&k))
	return k
}

// dump returns every row stored under tenant key k, table by table, as
// text, and how many rows refer to a resource that does not exist.
func dump(t *testing.T, s *Store, k int64) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for table, q := range map[string]string{
		"resources": `SELECT seq || ' ' || type || ' ' || id || ' ' || version || ' ' || attrs FROM resources
			WHERE tenant = ?1 ORDER BY seq`,
		"resource_values": `SELECT resource_seq || ' ' || attr || ' ' || idx || ' ' || elem FROM resource_values
			WHERE tenant = ?1 ORDER BY resource_seq, attr, idx`,
		"memberships": `SELECT group_seq || ' ' || member_seq FROM memberships
			WHERE group_seq IN (SELECT seq FROM resources WHERE tenant = ?1)
			OR member_seq IN (SELECT seq FROM resources WHERE tenant = ?1) ORDER BY group_seq, member_seq`,
		"resource_counts":  "SELECT type || ' ' || n FROM resource_counts WHERE tenant = ?1 ORDER BY type",
		"history":          "SELECT seq || ' ' || resource_id || ' ' || operation FROM history WHERE tenant = ?1 ORDER BY seq",
		"events":           "SELECT seq || ' ' || id || ' ' || type FROM events WHERE tenant = ?1 ORDER BY seq",
		"tenant_deletions": "SELECT key || ' ' || id FROM tenant_deletions WHERE key = ?1",
		"dangling": `SELECT 'value ' || resource_seq FROM resource_values WHERE resource_seq NOT IN (SELECT seq FROM resources)
			UNION ALL SELECT 'membership ' || group_seq || ' ' || member_seq FROM memberships
			WHERE group_seq NOT IN (SELECT seq FROM resources) OR member_seq NOT IN (SELECT seq FROM resources)`,
	} {
		rows, err := s.rdb.Query(q, k)
		require.NoError(t, err, table)
		var lines []string
		for rows.Next() {
			var line string
			require.NoError(t, rows.Scan(&line))
			lines = append(lines, line)
		}
		require.NoError(t, rows.Err())
		out[table] = lines
	}
	return out
}

// counts returns how many rows each table of a dump holds.
func counts(d map[string][]string) map[string]int {
	out := map[string]int{}
	for table, lines := range d {
		out[table] = len(lines)
	}
	return out
}

var noRows = map[string]int{"resources": 0, "resource_values": 0, "memberships": 0, "resource_counts": 0, "history": 0, "events": 0,
	"tenant_deletions": 0, "dangling": 0}

// createUser creates a user of tenant other in a write of its own and
// returns how long the write took.
func createUser(ctx context.Context, s *Store, tenant string, i int) (time.Duration, error) {
	r := bigUser(tenant, i)
	start := time.Now()
	err := s.Write(ctx, func(w store.Writer) error { return w.Create(ctx, r) })
	return time.Since(start), err
}

// While a tenant of 20,000 users is deleted, a batch of a few thousand rows
// per transaction, another tenant's writes go on, each waiting at most for
// about one batch: far less than the busy timeout after which a write
// gives up. (Under the race detector: 1,000 users, batches of a twentieth.)
func TestDeleteTenantLetsOtherWritesThrough(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts []Option
	}{
		{"GroupCommit", nil},
		{"TxPerWrite", []Option{WithGroupCommit(false)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			var batches atomic.Int64
			s := openTest(t, filepath.Join(t.TempDir(), "roster.db"),
				append(tc.opts, withPurge(scaled(defaultPurgeRows), func(int64) error { batches.Add(1); return nil }))...)
			n := scaled(20_000)
			seedBig(t, s, "big", n)
			require.NoError(t, storetest.Write(s).Tenants().Create(ctx, store.Tenant{ID: "other", Name: "other"}))
			big, other := keyOf(t, s, "big"), keyOf(t, s, "other")
			require.Equal(t, map[string]int{
				"resources": n + 11, "resource_values": 2 * n, "memberships": n + 1 + 1000,
				"resource_counts": 2, "history": n, "events": n, "tenant_deletions": 0, "dangling": 0,
			}, counts(dump(t, s, big)))

			stop, stopped := make(chan struct{}), make(chan struct{})
			var (
				writes  int
				maxWait time.Duration
				errs    []error
			)
			go func() {
				defer close(stopped)
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					d, err := createUser(ctx, s, "other", i)
					if err != nil {
						errs = append(errs, err)
						continue
					}
					writes++
					maxWait = max(maxWait, d)
				}
			}()
			start := time.Now()
			require.NoError(t, storetest.Write(s).Tenants().Delete(ctx, "big"))
			took := time.Since(start)
			close(stop)
			<-stopped

			require.Empty(t, errs)
			require.Greater(t, batches.Load(), int64(10), "the delete ran in batches")
			require.Greater(t, writes, int(batches.Load()), "other writes ran between the batches")
			require.Less(t, maxWait, time.Second, "the longest write of the other tenant")
			t.Logf("deleted %d users in %d batches in %s; meanwhile %d writes of another tenant, the longest %s",
				n, batches.Load(), took.Round(time.Millisecond), writes, maxWait.Round(time.Millisecond))

			require.Equal(t, noRows, counts(dump(t, s, big)))
			got := counts(dump(t, s, other))
			require.Equal(t, writes, got["resources"])
			require.Equal(t, 2*writes, got["resource_values"])
			_, err := s.Tenants().Get(ctx, "big")
			require.ErrorIs(t, err, store.ErrNotFound)
		})
	}
}

var errCrash = errors.New("simulated crash")

// A deletion interrupted after its first stage (the tenant is gone, most of
// its rows are not) is finished after the next Open, and the other tenant
// keeps every row.
func TestDeleteTenantResumesAfterCrash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "roster.db")
	var calls atomic.Int64
	batch := scaled(500)
	s, err := Open(ctx, path, withPurge(batch, func(int64) error {
		if calls.Add(1) > 1 {
			return errCrash // the process dies after the first batch
		}
		return nil
	}))
	require.NoError(t, err)
	seedBig(t, s, "big", scaled(3000))
	seedBig(t, s, "other", 100)
	big, other := keyOf(t, s, "big"), keyOf(t, s, "other")
	before, bigBefore := dump(t, s, other), counts(dump(t, s, big))

	err = storetest.Write(s).Tenants().Delete(ctx, "big")
	require.ErrorIs(t, err, errCrash)
	// The sweeper the failed Delete started stops at the hook too.
	s.sw.Wait()
	require.NoError(t, s.Close())

	s = openTest(t, path, withPurge(batch, func(int64) error { return errCrash }))
	_, err = s.Tenants().Get(ctx, "big")
	require.ErrorIs(t, err, store.ErrNotFound, "the tenant is gone at once")
	_, err = s.Tokens().Get(ctx, "tok-big")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.OAuthClients().Get(ctx, "client-big")
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.Resources().Get(ctx, "big", schema.UserResource, "u99")
	require.ErrorIs(t, err, store.ErrNotFound)
	s.sw.Wait()
	left := counts(dump(t, s, big))
	require.Equal(t, 1, left["tenant_deletions"])
	require.Zero(t, left["dangling"])
	rows := func(c map[string]int) int { return c["resources"] + c["resource_values"] + c["memberships"] }
	// The first batch deleted members of the oldest group, "all", which has
	// more than a batch of them.
	require.Equal(t, rows(bigBefore)-batch, rows(left), "one batch ran")
	require.NoError(t, s.Close())

	s = openTest(t, path)
	s.sw.Wait()
	require.Equal(t, noRows, counts(dump(t, s, big)))
	require.Equal(t, before, dump(t, s, other))
	tn, err := s.Tenants().List(ctx)
	require.NoError(t, err)
	require.Len(t, tn, 1)
}

// A Delete whose ctx ends between batches returns the context's error, and
// the store finishes the deletion in the background.
func TestDeleteTenantCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls atomic.Int64
	s := openTest(t, filepath.Join(t.TempDir(), "roster.db"), withPurge(scaled(500), func(int64) error {
		if calls.Add(1) == 3 {
			cancel()
		}
		return nil
	}))
	seedBig(t, s, "big", scaled(2000))
	seedBig(t, s, "other", 100)
	big, other := keyOf(t, s, "big"), keyOf(t, s, "other")
	before := dump(t, s, other)

	err := storetest.Write(s).Tenants().Delete(ctx, "big")
	require.ErrorIs(t, err, context.Canceled)
	_, err = s.Tenants().Get(context.Background(), "big")
	require.ErrorIs(t, err, store.ErrNotFound)
	s.sw.Wait()
	require.Greater(t, calls.Load(), int64(4), "the sweeper went on")
	require.Equal(t, noRows, counts(dump(t, s, big)))
	require.Equal(t, before, dump(t, s, other))
}

// A process that had cached a deleted tenant's key may still write under
// it; the next Open removes those rows too, and only those.
func TestSweepRemovesRowsUnderDeletedKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "roster.db")
	serve := openTest(t, path)
	cli := openTest(t, path)
	seedBig(t, serve, "old", 50)
	seedBig(t, serve, "other", 50)
	old, other := keyOf(t, serve, "old"), keyOf(t, serve, "other")
	before := dump(t, serve, other)

	require.NoError(t, storetest.Write(cli).Tenants().Delete(ctx, "old"))
	require.Equal(t, noRows, counts(dump(t, cli, old)))
	_, err := createUser(ctx, serve, "old", 100) // through serve's cached key
	require.NoError(t, err)
	require.Equal(t, 1, counts(dump(t, serve, old))["resources"])
	require.NoError(t, serve.Write(ctx, func(w store.Writer) error { return w.Record(ctx, bigChange("old", 101)) }))
	require.Equal(t, 1, counts(dump(t, serve, old))["history"])
	require.Equal(t, 1, counts(dump(t, serve, old))["events"])

	// A row in tenant_deletions that names a live tenant, which no code
	// path writes, makes the sweeper drop the row, not the tenant's data.
	_, err = serve.wconn.ExecContext(ctx, "INSERT INTO tenant_deletions (key, id, started) VALUES (?1, 'other', '')", other)
	require.NoError(t, err)

	s := openTest(t, path)
	s.sw.Wait()
	require.Equal(t, noRows, counts(dump(t, s, old)))
	require.Equal(t, before, dump(t, s, other))
}

// writerResult is what TestHelperWriterProcess reports.
type writerResult struct {
	Writes  int
	MaxWait time.Duration
	Errors  []string
}

// TestHelperWriterProcess is no test of its own: TestDeleteTenantWhileAnotherProcessWrites
// runs the test binary again with it, as a second process (roster serve)
// that writes to tenant "other" of the database ROSTER_TEST_WRITER_DB until
// its standard input closes, then prints a writerResult.
func TestHelperWriterProcess(t *testing.T) {
	path := os.Getenv("ROSTER_TEST_WRITER_DB")
	if path == "" {
		t.Skip("run by TestDeleteTenantWhileAnotherProcessWrites")
	}
	ctx := context.Background()
	s := openTest(t, path)
	stop := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(stop)
	}()
	var res writerResult
	for i := 0; ; i++ {
		select {
		case <-stop:
			require.NoError(t, json.NewEncoder(os.Stdout).Encode(res))
			return
		default:
		}
		d, err := createUser(ctx, s, "other", i)
		if err != nil {
			res.Errors = append(res.Errors, err.Error())
			continue
		}
		res.Writes++
		res.MaxWait = max(res.MaxWait, d)
		if i == 0 {
			fmt.Println("ready")
		}
	}
}

// One process deletes a tenant of 20,000 users while another, sharing the
// file, writes to another tenant: the other process's writes all succeed,
// none waiting long, although every write of one process waits in
// SQLite's busy handler for the other's transaction to end. (Under the race
// detector: 1,000 users, batches of a twentieth.)
func TestDeleteTenantWhileAnotherProcessWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "roster.db")
	s := openTest(t, path, withPurge(scaled(defaultPurgeRows), nil))
	n := scaled(20_000)
	seedBig(t, s, "big", n)
	require.NoError(t, storetest.Write(s).Tenants().Create(ctx, store.Tenant{ID: "other", Name: "other"}))
	big, other := keyOf(t, s, "big"), keyOf(t, s, "other")

	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWriterProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "ROSTER_TEST_WRITER_DB="+path)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill() }()
	lines := bufio.NewScanner(stdout)
	require.True(t, lines.Scan(), "writer process: %s", &stderr)
	require.Equal(t, "ready", lines.Text())

	start := time.Now()
	require.NoError(t, storetest.Write(s).Tenants().Delete(ctx, "big"))
	took := time.Since(start)
	require.NoError(t, stdin.Close())
	var res writerResult
	for lines.Scan() {
		if strings.HasPrefix(lines.Text(), "{") {
			require.NoError(t, json.Unmarshal(lines.Bytes(), &res))
		}
	}
	require.NoError(t, cmd.Wait(), "writer process: %s", &stderr)

	require.Empty(t, res.Errors)
	require.Greater(t, res.Writes, 10)
	require.Less(t, res.MaxWait, 2*time.Second, "the other process's longest write")
	t.Logf("deleted %d users in %s; meanwhile another process made %d writes, the longest %s",
		n, took.Round(time.Millisecond), res.Writes, res.MaxWait.Round(time.Millisecond))
	require.Equal(t, noRows, counts(dump(t, s, big)))
	require.Equal(t, res.Writes, counts(dump(t, s, other))["resources"])
}
