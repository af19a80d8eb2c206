package engine_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/app"
	"github.com/rosterhq/roster/internal/provision/engine"
	"github.com/rosterhq/roster/internal/provision/job"
	"github.com/rosterhq/roster/internal/provision/source/ldapsource/slapdtest"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/sqlite"
)

// targetEnv, set to a database path, makes the test binary serve a Roster
// on it and print "URL TOKEN" on one line: the target of the scale test,
// in a process of its own so that the engine's memory is measured alone.
const targetEnv = "ROSTER_TEST_ENGINE_TARGET"

func serveTarget() int {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, os.Getenv(targetEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	r, err := app.New(ctx, app.Config{}, st)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	_, issued, err := r.Tenants.Bootstrap(ctx, "default", "")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("http://%s/scim/v2/default %s\n", l.Addr(), issued.Plaintext)
	_ = http.Serve(l, r.Handler)
	return 0
}

// cpuOf returns a process's user+system CPU time so far, from /proc.
func cpuOf(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

// startTarget starts a Roster in a child process and returns its Tenant
// URL, token and PID; the child is killed by its PID at cleanup.
func startTarget(t *testing.T) (string, string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), targetEnv+"="+filepath.Join(t.TempDir(), "target.db"))
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err)
	f := strings.Fields(line)
	require.Len(t, f, 2)
	return f[0], f[1], cmd.Process.Pid
}

// TestScale is the engine's benchmark (docs/benchmarks.md): an initial
// cycle of ROSTER_ENGINE_SCALE users and one group per 100 users (10
// members each) from slapd into a Roster tenant in another process, then
// an incremental cycle with 1,000 changed users, with the engine's peak
// heap. It runs only when ROSTER_ENGINE_SCALE is set:
//
//	ROSTER_ENGINE_SCALE=100000 go test -count=1 -run TestScale -v -timeout 30m ./internal/provision/engine
func TestScale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("ROSTER_ENGINE_SCALE"))
	if n <= 0 {
		t.Skip("set ROSTER_ENGINE_SCALE=N to run the engine's benchmark with N users")
	}
	if slapd.skip != "" {
		t.Skip(slapd.skip)
	}
	ctx := context.Background()
	ou := fmt.Sprintf("scale-%d", runs.Add(1))
	base := "ou=" + ou + "," + slapdtest.Suffix
	admin := slapdtest.Admin(t, slapd.url)
	require.NoError(t, admin.Add(slapdtest.Entry(base, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {ou}})))

	start := time.Now()
	dn := func(i int) string { return fmt.Sprintf("uid=u%06d,%s", i, base) }
	parallel(t, n, func(c *ldap.Conn, i int) error {
		return c.Add(slapdtest.Entry(dn(i), map[string][]string{
			"objectClass": {"inetOrgPerson"}, "uid": {fmt.Sprintf("u%06d", i)}, "cn": {fmt.Sprintf("User %d", i)},
			"givenName": {"User"}, "sn": {strconv.Itoa(i)}, "mail": {fmt.Sprintf("u%06d@example.com", i)},
			"title": {"Engineer"}, "telephoneNumber": {"+1 555 0100"}, "departmentNumber": {"R&D"},
		}))
	})
	groups := n / 100
	parallel(t, groups, func(c *ldap.Conn, g int) error {
		members := make([]string, 10)
		for k := range members {
			members[k] = dn(g*100 + k)
		}
		return c.Add(slapdtest.Entry(fmt.Sprintf("cn=g%05d,%s", g, base), map[string][]string{
			"objectClass": {"groupOfNames"}, "cn": {fmt.Sprintf("g%05d", g)}, "member": members}))
	})
	t.Logf("loaded %d users and %d groups into slapd in %v", n, groups, time.Since(start).Round(time.Millisecond))

	url, token, targetPID := startTarget(t)
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "engine.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	doc := fmt.Sprintf(`name: e2e
source: {type: ldap, url: %q, bindDN: %q, bindPassword: %q, baseDN: %q}
target: {url: %q, token: %q, concurrency: 32}
scope: all
`, slapd.url, slapdtest.RootDN, slapdtest.RootPW, base, url, token)
	if d := os.Getenv("ROSTER_ENGINE_DELTA"); d != "" {
		doc = strings.Replace(doc, "baseDN: ", "delta: "+d+", baseDN: ", 1)
	}
	j, err := job.Parse([]byte(doc), func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	_, _, err = job.New(st).Apply(ctx, j, "test")
	require.NoError(t, err)
	eng := engine.New(engine.Config{Store: st})

	peak := watchHeap(t)
	runtime.GC()
	start = time.Now()
	engCPU, tgtCPU := cpuOf(os.Getpid()), cpuOf(targetPID)
	if path := os.Getenv("ROSTER_ENGINE_PROFILE"); path != "" {
		// The initial cycle's CPU profile alone, without the loading.
		f, err := os.Create(path)
		require.NoError(t, err)
		require.NoError(t, pprof.StartCPUProfile(f))
	}
	var heapOnce sync.Once
	rep, err := eng.Run(ctx, "e2e", engine.RunOptions{Progress: func(s engine.Stats) {
		// A heap profile near the end of the users, when the cycle holds
		// the most: ROSTER_ENGINE_HEAP=path.
		if path := os.Getenv("ROSTER_ENGINE_HEAP"); path != "" && s.Created >= int64(n*9/10) {
			heapOnce.Do(func() {
				runtime.GC()
				if f, err := os.Create(path); err == nil {
					_ = pprof.WriteHeapProfile(f)
					f.Close()
				}
			})
		}
	}})
	took := time.Since(start)
	if os.Getenv("ROSTER_ENGINE_PROFILE") != "" {
		pprof.StopCPUProfile()
	}
	require.NoError(t, err)
	inUse, live := peak()
	t.Logf("initial cycle: %v for %d users and %d groups (%.0f objects/s); CPU engine %v, target %v; peak heap in use %.1f MiB, live %.1f MiB; %+v",
		took.Round(time.Millisecond), n, groups, float64(n+groups)/took.Seconds(), cpuOf(os.Getpid())-engCPU, cpuOf(targetPID)-tgtCPU,
		float64(inUse)/(1<<20), float64(live)/(1<<20), rep.Stats)
	perKind := map[string]int{}
	require.NoError(t, st.Provisioning().Links(ctx, "e2e", "", func(l store.Link) error { perKind[l.Kind]++; return nil }))
	if rep.Stats.Failed > 0 {
		fails, _ := st.Provisioning().Logs(ctx, store.ProvisionLogQuery{Job: "e2e", Status: "Failure", Limit: 5})
		for _, f := range fails {
			t.Logf("failure: %s %s %s %s: %s", f.Kind, f.SourceName, f.Action, f.ErrorCode, f.Reason)
		}
	}
	require.EqualValues(t, n+groups, rep.Stats.Created, "%+v; links %v", rep.Stats, perKind)
	require.Zero(t, rep.Stats.Failed)

	// 1,000 users change.
	changed := min(1000, n)
	tick()
	parallel(t, changed, func(c *ldap.Conn, i int) error {
		m := ldap.NewModifyRequest(dn(i*(n/changed)), nil)
		m.Replace("title", []string{"Senior Engineer"})
		return c.Modify(m)
	})
	runtime.GC()
	start = time.Now()
	rep, err = eng.Run(ctx, "e2e", engine.RunOptions{})
	took = time.Since(start)
	require.NoError(t, err)
	t.Logf("incremental cycle: %v for %d changed users; %+v", took.Round(time.Millisecond), changed, rep.Stats)
	require.False(t, rep.Initial)
	require.EqualValues(t, changed, rep.Stats.Updated, "%+v", rep.Stats)
}

// parallel runs fn for 0..n-1 on four LDAP connections.
func parallel(t *testing.T, n int, fn func(c *ldap.Conn, i int) error) {
	t.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	var first error
	var mu sync.Mutex
	for range 4 {
		c := slapdtest.Admin(t, slapd.url)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := fn(c, i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	require.NoError(t, first)
}

// watchHeap samples the heap every 20 ms until the test ends and returns
// a func reporting the peaks so far of the heap in use (live objects and
// garbage not yet collected) and of the live heap (what the last GC
// found reachable, runtime/metrics /gc/heap/live:bytes).
func watchHeap(t *testing.T) func() (inUse, live uint64) {
	var peakInUse, peakLive atomic.Uint64
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	go func() {
		// runtime/metrics, unlike ReadMemStats, does not stop the world.
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
		tk := time.NewTicker(20 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-done:
				return
			case <-tk.C:
			}
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peakLive.Load() {
				peakLive.Store(v)
			}
			if v := sample[1].Value.Uint64(); v > peakInUse.Load() {
				peakInUse.Store(v)
			}
		}
	}()
	return func() (uint64, uint64) { return peakInUse.Swap(0), peakLive.Swap(0) }
}
