package main_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/provision/source/ldapsource/slapdtest"
)

// freeAddr returns a loopback address no one listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// TestJobWatchCLI follows a cycle that `roster serve` runs (slapd to the
// server's own tenant, slowed to four requests a second) with `roster job
// show --watch` in another process, which waits for the cycle, prints its
// progress once a second and exits when it ends; then it scrapes the
// server's --metrics-addr.
func TestJobWatchCLI(t *testing.T) {
	srv, err := slapdtest.Start()
	if err != nil {
		t.Skip(err.Error())
	}
	t.Cleanup(srv.Stop)
	admin := slapdtest.Admin(t, srv.URL)
	base := "ou=watch," + slapdtest.Suffix
	require.NoError(t, admin.Add(slapdtest.Entry(base, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"watch"}})))
	const users = 8
	for i := range users {
		uid := fmt.Sprintf("w%02d", i)
		require.NoError(t, admin.Add(slapdtest.Entry("uid="+uid+","+base, map[string][]string{
			"objectClass": {"inetOrgPerson"}, "uid": {uid}, "cn": {uid}, "sn": {"Person"}, "mail": {uid + "@example.com"}})))
	}

	dir := t.TempDir()
	db := filepath.Join(dir, "roster.db")
	addr, metricsAddr := freeAddr(t), freeAddr(t)
	t.Setenv("ROSTER_TEST_LDAP_PASSWORD", slapdtest.RootPW)
	t.Setenv("ROSTER_TEST_APP_TOKEN", bootstrapToken)
	doc := fmt.Sprintf(`name: hr
source: {type: ldap, url: %s, bindDN: %q, bindPassword: '${ROSTER_TEST_LDAP_PASSWORD}', baseDN: %q}
target: {url: http://%s/scim/v2/default, token: '${ROSTER_TEST_APP_TOKEN}', requestsPerSecond: 4, concurrency: 1}
scope: all
schedule: {interval: 1h}
`, srv.URL, slapdtest.RootDN, base, addr)
	file := filepath.Join(dir, "hr.yaml")
	require.NoError(t, os.WriteFile(file, []byte(doc), 0o600))
	cli(t, 0, "", "job", "apply", "-f", file, "--db", db)
	cli(t, 0, "", "job", "start", "hr", "--db", db)

	// The watch starts before any cycle and waits for the next one.
	watch := exec.Command(roster(t), "job", "show", "hr", "--watch", "--db", db)
	var out, errOut bytes.Buffer
	watch.Stdout, watch.Stderr = &out, &errOut
	require.NoError(t, watch.Start())
	watched := make(chan error, 1)
	go func() { watched <- watch.Wait() }()
	t.Cleanup(func() { _ = watch.Process.Kill() })

	// The server's scheduler runs the job, which is On and due, at once.
	start(t, db, "--addr", addr, "--metrics-addr", metricsAddr)
	select {
	case err := <-watched:
		require.NoError(t, err, "stdout: %s\nstderr: %s", out.String(), errOut.String())
	case <-time.After(90 * time.Second):
		t.Fatalf("--watch did not exit after the cycle; it printed:\n%s", out.String())
	}
	text := out.String()
	t.Logf("roster job show --watch printed:\n%s", text)
	require.Contains(t, text, "No cycle is running; waiting for the next one")
	partial := regexp.MustCompile(`(?m)^\s*\d+% (\d+)/` + strconv.Itoa(users) + ` users, initial cycle, [\d.]+/s, elapsed `)
	var midway bool
	for _, m := range partial.FindAllStringSubmatch(text, -1) {
		if n, _ := strconv.Atoi(m[1]); n < users {
			midway = true
		}
	}
	require.True(t, midway, "a progress line with users left to create:\n%s", text)
	require.Regexp(t, `Cycle \S+ ended: Succeeded`, text)
	require.Regexp(t, `To date:\s+1 cycles \(1 succeeded, 0 failed\); created 8, updated 0`, text)

	var show struct {
		Engine struct {
			SteadyState bool `json:"steadyState"`
			Totals      struct {
				Cycles, Created int64
			} `json:"statisticsToDate"`
		} `json:"engine"`
	}
	cliJSON(t, &show, "job", "show", "hr", "--db", db)
	require.Equal(t, int64(1), show.Engine.Totals.Cycles)
	require.Equal(t, int64(users), show.Engine.Totals.Created)
	require.False(t, show.Engine.SteadyState, "after an initial cycle only")

	// The server counts the cycle it ran; the watch may have seen its end
	// in the store a moment before the counters moved.
	want := map[string]float64{
		`roster_provision_cycles_total{job="hr",status="Succeeded",type="initial"}`: 1,
		`roster_provision_objects_total{action="Create",job="hr",status="Success"}`: users,
		`roster_provision_cycle_duration_seconds_count{job="hr",type="initial"}`:    1,
		`roster_provision_steady_state{job="hr"}`:                                   0,
		`roster_provision_cycle_running{job="hr"}`:                                  0,
	}
	var got map[string]float64
	require.Eventually(t, func() bool {
		got = scrapeMetrics(t, "http://"+metricsAddr+"/metrics")
		for k, v := range want {
			if g, ok := got[k]; !ok || g != v {
				return false
			}
		}
		return true
	}, 10*time.Second, 100*time.Millisecond, "metrics: %v", got)
	require.Contains(t, got, "go_goroutines", "the Go runtime's collectors too")
}

// scrapeMetrics reads a Prometheus text exposition into values by series.
func scrapeMetrics(t *testing.T, url string) map[string]float64 {
	t.Helper()
	res, err := http.Get(url)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, 200, res.StatusCode)
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		require.NoError(t, err, line)
		out[line[:i]] = v
	}
	require.NoError(t, sc.Err())
	return out
}
