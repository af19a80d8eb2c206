package main_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// junitReport is the part of `roster validate -o junit` the tests read.
type junitReport struct {
	Suites []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
	} `xml:"testsuite"`
}

// requireNoResources asks the server directly for the tenant's users and
// groups.
func requireNoResources(t *testing.T, tenantURL string) {
	t.Helper()
	for _, endpoint := range []string{"/Users", "/Groups"} {
		st, m, err := do(context.Background(), http.DefaultClient, "GET", tenantURL+endpoint+"?count=0", "")
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, st)
		require.EqualValues(t, 0, m["totalResults"], "%s left behind", endpoint)
	}
}

// TestValidateProfiles runs `roster validate` for each profile against
// `roster serve`, the way .ci/run does.
func TestValidateProfiles(t *testing.T) {
	t.Parallel()
	s := start(t, filepath.Join(t.TempDir(), "roster.db"))
	for _, profile := range []string{"entra", "okta", "rfc"} {
		var out, errOut bytes.Buffer
		cmd := exec.Command(roster(t), "validate", "--url", s.tenantURL, "--token", bootstrapToken, "--profile", profile, "-o", "junit")
		cmd.Stdout, cmd.Stderr = &out, &errOut
		require.NoError(t, cmd.Run(), "%s: %s\n%s", profile, errOut.String(), out.String())
		var rep junitReport
		require.NoError(t, xml.Unmarshal(out.Bytes(), &rep), out.String())
		require.Len(t, rep.Suites, 1)
		require.Equal(t, profile, rep.Suites[0].Name)
		require.Positive(t, rep.Suites[0].Tests)
		require.Zero(t, rep.Suites[0].Failures, out.String())
	}
	requireNoResources(t, s.tenantURL)
}

// TestValidateInterrupted sends SIGINT to `roster validate` in the middle of
// a run (through a proxy that slows every request down so that there is a
// middle) and requires a non-zero exit and no resources left behind.
func TestValidateInterrupted(t *testing.T) {
	t.Parallel()
	s := start(t, filepath.Join(t.TempDir(), "roster.db"))
	target, err := url.Parse(s.tenantURL)
	require.NoError(t, err)
	target.Path = ""
	proxy := httputil.NewSingleHostReverseProxy(target)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(25 * time.Millisecond)
		proxy.ServeHTTP(w, r)
	}))
	defer slow.Close()
	slowURL := slow.URL + strings.TrimPrefix(s.tenantURL, "http://"+target.Host)

	var out, errOut bytes.Buffer
	cmd := exec.Command(roster(t), "validate", "--url", slowURL, "--token", bootstrapToken)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	require.NoError(t, cmd.Start())
	time.Sleep(700 * time.Millisecond)
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	err = cmd.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "validate should fail when interrupted: %s", out.String())
	require.Equal(t, 1, exit.ExitCode())
	require.Contains(t, errOut.String(), "interrupted")
	require.Contains(t, out.String(), "interrupted")
	require.Regexp(t, `cleanup: [1-9]\d* resources deleted`, out.String())
	requireNoResources(t, s.tenantURL)
}
