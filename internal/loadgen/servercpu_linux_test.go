package loadgen

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestClockTicks reads USER_HZ from the auxiliary vector: 100 on every
// architecture Go supports on Linux.
func TestClockTicks(t *testing.T) {
	t.Parallel()
	require.EqualValues(t, 100, clockTicks())
}

// TestOpenServerCPU measures this process, and refuses processes that
// are gone or have exited.
func TestOpenServerCPU(t *testing.T) {
	t.Parallel()

	// A child that has exited and been reaped: no /proc entry.
	gone := exec.Command("true")
	require.NoError(t, gone.Run())

	// A child that has exited but is not reaped yet: a zombie, still in
	// /proc with its final times.
	zombie := exec.Command("true")
	require.NoError(t, zombie.Start())
	t.Cleanup(func() { _ = zombie.Wait() })
	require.Eventually(t, func() bool {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(zombie.Process.Pid) + "/stat")
		st, perr := parseProcStat(b)
		return err == nil && perr == nil && st.state == 'Z'
	}, 10*time.Second, 10*time.Millisecond)

	for _, tc := range []struct {
		name    string
		pid     int
		wantErr string
	}{
		{"Self", os.Getpid(), ""},
		{"Gone", gone.Process.Pid, "is not running"},
		{"Zombie", zombie.Process.Pid, "has exited (state Z)"},
		{"Zero", 0, "not a process id"},
		{"Negative", -3, "not a process id"},
	} {
		m, err := openServerCPU(tc.pid)
		if tc.wantErr != "" {
			require.ErrorContains(t, err, tc.wantErr, tc.name)
			continue
		}
		require.NoError(t, err, tc.name)
		before, err := m.read()
		require.NoError(t, err)
		// Burn 200 ms of CPU: the meter must see at least half of it
		// (ticks are 10 ms), and no more than every core for the time
		// it took, plus a tick.
		start := time.Now()
		for time.Since(start) < 200*time.Millisecond {
		}
		after, err := m.read()
		require.NoError(t, err)
		require.GreaterOrEqual(t, after-before, 100*time.Millisecond, tc.name)
		require.LessOrEqual(t, after-before, time.Duration(runtime.NumCPU())*time.Since(start)+10*time.Millisecond, tc.name)
	}
}
