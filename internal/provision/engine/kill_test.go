package engine_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/provision/engine"
	"github.com/rosterhq/roster/internal/provision/job"
	"github.com/rosterhq/roster/internal/provision/source/ldapsource/slapdtest"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/sqlite"
)

// childEnv, set to an engine database's path, makes the test binary run
// one cycle of job "e2e" from it and exit: the process the test kills.
const childEnv = "ROSTER_TEST_ENGINE_CHILD"

const childLease = 2 * time.Second

func runChild() int {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, os.Getenv(childEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer st.Close()
	eng := engine.New(engine.Config{Store: st, LeaseTTL: childLease, FlushEvery: 20 * time.Millisecond})
	if _, err := eng.Run(ctx, "e2e", engine.RunOptions{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// TestSIGKILLResume kills the process running an initial cycle partway
// with SIGKILL, then runs the job again from the same engine database: the
// second cycle creates exactly the users the first did not, links the
// ones whose links the kill lost, and records the first as Interrupted.
func TestSIGKILLResume(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	w := newWorld(t)
	const n = 300
	for i := range n {
		w.addUser(fmt.Sprintf("user%03d", i), nil)
	}
	// The engine keeps its state in a database of its own, which both the
	// child and this process open; the target is this process's Roster.
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "engine.db")
	st, err := sqlite.Open(ctx, dbPath)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	doc := fmt.Sprintf(`name: e2e
source: {type: ldap, url: %q, bindDN: %q, bindPassword: %q, baseDN: %q}
target: {url: %q, token: %q, requestsPerSecond: 150, concurrency: 4}
scope: all
`, slapd.url, slapdtest.RootDN, slapdtest.RootPW, w.base, w.target, w.token)
	j, err := job.Parse([]byte(doc), func(string) (string, bool) { return "", false })
	require.NoError(t, err)
	_, _, err = job.New(st).Apply(ctx, j, "test")
	require.NoError(t, err)

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dbPath)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	require.NoError(t, cmd.Start())
	deadline := time.Now().Add(30 * time.Second)
	for len(w.list("/Users")) < n/4 {
		require.True(t, time.Now().Before(deadline), "the child created too few users")
		time.Sleep(20 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	before := len(w.list("/Users"))
	require.Less(t, before, n, "killed partway")

	eng := engine.New(engine.Config{Store: st, LeaseTTL: childLease, FlushEvery: 20 * time.Millisecond})
	var rep engine.Report
	for {
		rep, err = eng.Run(ctx, "e2e", engine.RunOptions{})
		if !errors.Is(err, engine.ErrBusy) {
			break
		}
		time.Sleep(200 * time.Millisecond) // until the dead child's lease ends
	}
	require.NoError(t, err)
	require.Equal(t, engine.CycleSucceeded, rep.Status)
	require.True(t, rep.Initial, "the killed initial cycle did not count")
	require.Zero(t, rep.Stats.Failed, "no create was sent twice (Roster refuses a duplicate userName with 409)")
	require.EqualValues(t, n-before, rep.Stats.Created, "%+v", rep.Stats)
	require.Len(t, w.list("/Users"), n)

	links := 0
	require.NoError(t, st.Provisioning().Links(ctx, "e2e", "user", func(store.Link) error { links++; return nil }))
	require.Equal(t, n, links)
	cycles, err := st.Provisioning().Cycles(ctx, "e2e", 10)
	require.NoError(t, err)
	require.Len(t, cycles, 2)
	require.Equal(t, engine.CycleInterrupted, cycles[1].Status, "the killed cycle is marked")
}
