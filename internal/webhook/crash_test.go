package webhook

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/rosterhq/roster/internal/store/storetest"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/jobs"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/sqlite"
)

const crashEnv = "ROSTER_WEBHOOK_CRASH_DB"

// TestCrashRecovery kills (SIGKILL) a process in the middle of a delivery,
// which leaves its river job "running", and checks that a Service started
// afterwards on the same files delivers the batch: the repair gives the
// lane a new job once the old one has been running for longer than a live
// job can.
func TestCrashRecovery(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "roster.db")
	rc := newReceiver(t)
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	rc.setHandle(func(_ request, nth int) int {
		if nth == 1 {
			arrived <- struct{}{}
			<-release // the sender dies waiting
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})

	st, err := sqlite.Open(ctx, path)
	require.NoError(t, err)
	require.NoError(t, storetest.Write(st).Tenants().Create(ctx, store.Tenant{ID: testTenant, Name: testTenant}))
	createEndpoint(t, st, "ep", rc.srv.URL, rc.secret)
	ids := writeEventsTogether(t, st, testTenant, "u1", store.UserUpdated, 0, 3)
	require.NoError(t, st.Close())

	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	cmd.Stdout, cmd.Stderr = t.Output(), t.Output()
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	select {
	case <-arrived:
	case <-time.After(20 * time.Second):
		t.Fatal("the helper process sent nothing")
	}
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	killed := time.Now()

	st, err = sqlite.Open(ctx, path)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, st.Close()) })
	cfg := testConfig(t, st)
	cfg.Holder = "crash-node" // the restarted node keeps its name
	cfg.Timeout = time.Second
	s := startService(t, openHost(t, st), cfg)
	pending, err := allDeliveries(s, DeliveryQuery{Endpoint: "ep", State: StatePending})
	require.NoError(t, err)
	require.Len(t, pending, len(ids))

	waitDeliveries(t, s, "ep", StateDelivered, len(ids), 15*time.Second)
	t.Logf("delivered %v after the kill (job considered abandoned after %v)", time.Since(killed).Round(10*time.Millisecond), s.rescueAfter)
	require.Equal(t, ids, eventIDs(rc.accepted()))
	got := rc.got()
	require.Equal(t, got[0].id, got[len(got)-1].id, "the batch is resent with its webhook-id")
}

// TestCrashHelper is the process TestCrashRecovery kills.
func TestCrashHelper(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("the helper process of TestCrashRecovery")
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path)
	require.NoError(t, err)
	host, err := jobs.Open(ctx, st, jobs.Config{Logger: testLogger(t)})
	require.NoError(t, err)
	cfg := testConfig(t, st)
	cfg.Holder = "crash-node"
	cfg.Timeout = 10 * time.Second // outlives the kill
	s, err := New(host, cfg)
	require.NoError(t, err)
	require.NoError(t, host.Start(ctx))
	require.NoError(t, s.Start(ctx))
	time.Sleep(30 * time.Second) // killed long before
	t.Error("the helper process was not killed")
}
