package validate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/app"
	"github.com/rosterhq/roster/internal/cli"
	"github.com/rosterhq/roster/internal/store/sqlite"
	"github.com/rosterhq/roster/internal/validate"
)

// testBundle is a real Roster on a fresh SQLite file, reached over HTTP,
// optionally through a handler that breaks one behaviour.
type testBundle struct {
	srv       *httptest.Server
	roster    http.Handler
	tenantURL string
	token     string
}

// setup assembles Roster the way `roster serve` does; wrap, if not nil,
// sits in front of it.
func setup(t *testing.T, wrap func(http.Handler) http.Handler) *testBundle {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "roster.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	roster, err := app.New(ctx, app.Config{}, st)
	require.NoError(t, err)
	t.Cleanup(roster.Close)
	_, issued, err := roster.Tenants.Bootstrap(ctx, "default", "")
	require.NoError(t, err)
	h := roster.Handler
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &testBundle{srv: srv, roster: roster.Handler, tenantURL: srv.URL + "/scim/v2/default", token: issued.Plaintext}
}

// count returns how many resources of an endpoint the tenant holds, asked of
// Roster directly (not through the wrapper).
func (b *testBundle) count(t *testing.T, endpoint string) int {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, b.tenantURL+endpoint+"?count=0", nil)
	req.Header.Set("Authorization", "Bearer "+b.token)
	rec := httptest.NewRecorder()
	b.roster.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var m struct{ TotalResults int }
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &m))
	return m.TotalResults
}

func (b *testBundle) requireEmpty(t *testing.T) {
	t.Helper()
	require.Zero(t, b.count(t, "/Users"), "users left behind")
	require.Zero(t, b.count(t, "/Groups"), "groups left behind")
}

func result(t *testing.T, rep *validate.Report, id string) validate.Result {
	t.Helper()
	for _, p := range rep.Profiles {
		for _, r := range p.Results {
			if r.ID == id {
				return r
			}
		}
	}
	t.Fatalf("no result %s", id)
	return validate.Result{}
}

// TestProfilesAgainstRoster runs every profile against Roster: every check,
// required or optional, passes, and nothing is left behind.
func TestProfilesAgainstRoster(t *testing.T) {
	t.Parallel()
	for _, profile := range validate.Profiles {
		t.Run(profile, func(t *testing.T) {
			t.Parallel()
			b := setup(t, nil)
			rn := validate.Runner{URL: b.tenantURL, Token: b.token}
			rep, err := rn.Run(context.Background(), profile)
			require.NoError(t, err)
			var text bytes.Buffer
			require.NoError(t, rep.WriteText(&text))
			for _, r := range rep.Profiles[0].Results {
				require.NotEqual(t, validate.Fail, r.Status, "%s", text.String())
				require.NotEqual(t, validate.Skip, r.Status, "Roster advertises every optional feature: %s", text.String())
			}
			require.True(t, rep.Passed())
			require.Empty(t, rep.Cleanup.Problems)
			require.Positive(t, rep.Cleanup.Deleted)
			b.requireEmpty(t)
		})
	}
}

// caseSensitiveUserName makes `userName eq` filters on /Users match only the
// exact case, a common server bug Entra's and Okta's matching trips over.
func caseSensitiveUserName(next http.Handler) http.Handler {
	eq := regexp.MustCompile(`^userName eq "(.*)"$`)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := eq.FindStringSubmatch(r.URL.Query().Get("filter"))
		if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/Users") || m == nil {
			next.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
			return
		}
		kept := []any{}
		for _, u := range body["Resources"].([]any) {
			if u.(map[string]any)["userName"] == m[1] {
				kept = append(kept, u)
			}
		}
		body["Resources"], body["totalResults"], body["itemsPerPage"] = kept, len(kept), len(kept)
		w.Header().Set("Content-Type", rec.Header().Get("Content-Type"))
		_ = json.NewEncoder(w).Encode(body)
	})
}

// ignorePatch answers every PATCH of a user with 204 and does nothing.
func ignorePatch(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPatch && strings.Contains(r.URL.Path, "/Users/") {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// TestBrokenServerFails runs the profiles against Roster behind a handler
// that breaks one behaviour and requires exactly the checks that exercise it
// to fail, with the request and response in the report, and the command to
// exit 1.
func TestBrokenServerFails(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		wrap   func(http.Handler) http.Handler
		failed []string
		method string // of the request the failing check's report shows
	}{
		{"CaseSensitiveUserName", caseSensitiveUserName, []string{"entra-query-username-case", "okta-username-case"}, http.MethodGet},
		{"IgnoredPatch", ignorePatch, []string{
			"entra-patch-multivalued", "entra-patch-username", "entra-patch-enterprise", "entra-remove-manager",
			"entra-disable-user", "okta-deactivate-user", "rfc-etag"}, http.MethodGet},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, tc.wrap)
			rn := validate.Runner{URL: b.tenantURL, Token: b.token}
			rep, err := rn.Run(context.Background())
			require.NoError(t, err)
			require.False(t, rep.Passed())
			var failed []string
			for _, p := range rep.Profiles {
				for _, r := range p.Results {
					if r.Status == validate.Fail {
						failed = append(failed, r.ID)
					}
				}
			}
			require.Subset(t, failed, tc.failed)
			r := result(t, rep, tc.failed[0])
			require.True(t, r.Required)
			require.NotNil(t, r.Request)
			require.NotNil(t, r.Response)
			require.Equal(t, tc.method, r.Request.Method)
			require.Contains(t, r.Request.URL, b.tenantURL)
			require.Equal(t, http.StatusOK, r.Response.Status)
			require.NotEmpty(t, r.Response.Body)
			b.requireEmpty(t)

			// The same through the command line: text, JSON and JUnit all
			// carry the failure, and the exit status is 1.
			var out, errOut bytes.Buffer
			code := cli.Execute([]string{"validate", "--url", b.tenantURL, "--token", b.token, "-o", "junit"}, &out, &errOut)
			require.Equal(t, 1, code, errOut.String())
			require.Contains(t, errOut.String(), "required checks failed")
			var suites struct {
				Suites []struct {
					Name     string `xml:"name,attr"`
					Failures int    `xml:"failures,attr"`
					Cases    []struct {
						Name    string `xml:"name,attr"`
						Failure *struct {
							Text string `xml:",chardata"`
						} `xml:"failure"`
					} `xml:"testcase"`
				} `xml:"testsuite"`
			}
			require.NoError(t, xml.Unmarshal(out.Bytes(), &suites), out.String())
			require.Len(t, suites.Suites, 3)
			found := false
			for _, s := range suites.Suites {
				for _, c := range s.Cases {
					if strings.HasPrefix(c.Name, tc.failed[0]+":") {
						found = true
						require.NotNil(t, c.Failure)
						require.Contains(t, c.Failure.Text, "> GET "+b.tenantURL)
						require.Contains(t, c.Failure.Text, "< 200")
					}
				}
			}
			require.True(t, found)
			b.requireEmpty(t)
		})
	}
}

// TestInterruptedRunCleansUp cancels the run in the middle of the entra
// profile and requires the report to say so and the tenant to be empty.
func TestInterruptedRunCleansUp(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var n atomic.Int32
	b := setup(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// Cancel while the server handles the 25th request, after it
			// created users and a group.
			if n.Add(1) == 25 {
				cancel()
			}
			next.ServeHTTP(w, r)
		})
	})
	rn := validate.Runner{URL: b.tenantURL, Token: b.token}
	rep, err := rn.Run(ctx, "entra", "okta")
	require.ErrorIs(t, err, context.Canceled)
	require.False(t, rep.Passed())
	require.Equal(t, "interrupted", result(t, rep, "okta-create-user").Detail)
	require.Positive(t, rep.Cleanup.Deleted)
	b.requireEmpty(t)
}

// TestUsage checks the command's usage errors exit 2.
func TestUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"validate"},
		{"validate", "--url", "http://127.0.0.1:1/scim/v2/default", "--token", "x", "--profile", "azure"},
		{"validate", "--url", "http://127.0.0.1:1/scim/v2/default", "--token", "x", "-o", "yaml"},
	} {
		code := cli.Execute(args, io.Discard, io.Discard)
		require.Equal(t, 2, code, "%v", args)
	}
}
