package main_test

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBenchServerCPU runs `roster bench` against a `roster serve` child
// process with its pid, and requires the server's CPU time per request
// in the text and JSON reports, and none without the pid.
func TestBenchServerCPU(t *testing.T) {
	t.Parallel()
	s := start(t, filepath.Join(t.TempDir(), "roster.db"))
	pid := s.cmd.Process.Pid
	gone := exec.Command("true")
	require.NoError(t, gone.Run())

	bench := []string{"bench", "--url", s.tenantURL, "--token", bootstrapToken, "--concurrency", "8", "--duration", "1m"}
	for _, tc := range []struct {
		name string
		args []string
		env  string // ROSTER_BENCH_SERVER_PID
		code int
		// wantCPU: the report must show the server's CPU; otherwise it
		// must not.
		wantCPU bool
		wantErr string
	}{
		{name: "CreatesJSON", args: []string{"--scenario", "create-users", "--n", "1000", "--server-pid", strconv.Itoa(pid), "-o", "json"}, wantCPU: true},
		{name: "LookupsTextFromEnv", args: []string{"--scenario", "lookup", "--n", "1000", "--seed", "200"}, env: strconv.Itoa(pid), wantCPU: true},
		{name: "FlagOverridesEnv", args: []string{"--scenario", "create-users", "--n", "200", "--server-pid", strconv.Itoa(pid)}, env: "not-a-pid", wantCPU: true},
		{name: "WithoutPID", args: []string{"--scenario", "create-users", "--n", "50", "-o", "json"}},
		{name: "PIDGone", args: []string{"--scenario", "create-users", "--n", "50", "--server-pid", strconv.Itoa(gone.Process.Pid)},
			code: 1, wantErr: fmt.Sprintf("server process %d is not running", gone.Process.Pid)},
		{name: "BadEnv", args: []string{"--scenario", "create-users", "--n", "50"}, env: "roster", code: 2, wantErr: `ROSTER_BENCH_SERVER_PID: "roster" is not a process id`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(roster(t), append(bench, tc.args...)...)
			cmd.Env = append(cmd.Environ(), "ROSTER_BENCH_SERVER_PID="+tc.env)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if tc.code != 0 {
				var ee *exec.ExitError
				require.ErrorAs(t, err, &ee, stdout.String())
				require.Equal(t, tc.code, ee.ExitCode(), stderr.String())
				require.Contains(t, stderr.String(), tc.wantErr)
				return
			}
			require.NoError(t, err, stderr.String())
			out := stdout.String()
			if !strings.Contains(strings.Join(tc.args, " "), "-o json") {
				if tc.wantCPU {
					require.Regexp(t, fmt.Sprintf(`(?m)^server CPU [1-9][0-9]* µs per request \(pid %d, `, pid), out)
				} else {
					require.NotContains(t, out, "server CPU")
				}
				return
			}
			var rep struct {
				Requests  int
				Errors    map[string]int
				ServerCPU *struct {
					PID          int     `json:"pid"`
					Total        int64   `json:"total_ns"`
					PerRequestUS float64 `json:"us_per_request"`
				} `json:"server_cpu"`
			}
			require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
			require.Empty(t, rep.Errors)
			if !tc.wantCPU {
				require.Nil(t, rep.ServerCPU, out)
				return
			}
			require.NotNil(t, rep.ServerCPU, out)
			require.Equal(t, pid, rep.ServerCPU.PID)
			require.Positive(t, rep.ServerCPU.PerRequestUS, out)
			require.InDelta(t, float64(rep.ServerCPU.Total)/1e3/float64(rep.Requests), rep.ServerCPU.PerRequestUS, 0.01, out)
			t.Logf("%d creates: %.0f µs of server CPU each", rep.Requests, rep.ServerCPU.PerRequestUS)
		})
	}
}
