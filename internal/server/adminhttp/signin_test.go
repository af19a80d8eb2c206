package adminhttp_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/app"
	"github.com/rosterhq/roster/internal/credential"
	"github.com/rosterhq/roster/internal/store"
	"github.com/rosterhq/roster/internal/store/sqlite"
)

// newEnvWith is newEnv with the given configuration and one super admin,
// root, whose password is the test password.
func newEnvWith(t *testing.T, cfg app.Config) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "roster.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	roster, err := app.New(ctx, cfg, st)
	require.NoError(t, err)
	t.Cleanup(roster.Close)
	_, err = roster.Admins.Create(ctx, "root", password, store.RoleSuperAdmin, "test")
	require.NoError(t, err)
	srv := httptest.NewServer(roster.Handler)
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, roster: roster}
}

// TestConcurrentWrongSignIns fires 1,000 wrong sign-ins at once, as the
// tester did with 400 that all ran argon2id and took 7.7 GB: failures are
// reserved before the hash, so one address gets no more hashes than its
// budget and the rest get 429; many addresses at once share a few password
// slots, and those that cannot get one in time get 503; the heap stays
// bounded either way.
func TestConcurrentWrongSignIns(t *testing.T) {
	t.Parallel()
	const n = 1000
	const budget = 30 // the default --auth-failures-per-client
	for _, tc := range []struct {
		name          string
		login         bool // POST /admin/api/login instead of HTTP Basic
		manyAddresses bool // each request from its own address
		want          func(t *testing.T, statuses map[int]int)
	}{
		{
			name: "OneAddressBasic",
			want: func(t *testing.T, statuses map[int]int) {
				require.LessOrEqual(t, statuses[401], budget, "%v", statuses)
				require.GreaterOrEqual(t, statuses[429], n-budget, "%v", statuses)
			},
		},
		{
			name: "OneAddressLogin", login: true,
			want: func(t *testing.T, statuses map[int]int) {
				require.LessOrEqual(t, statuses[401], budget, "%v", statuses)
				require.GreaterOrEqual(t, statuses[429], n-budget, "%v", statuses)
			},
		},
		{
			name: "ManyAddressesBasic", manyAddresses: true,
			want: func(t *testing.T, statuses map[int]int) {
				require.Equal(t, n, statuses[401]+statuses[503], "only wrong passwords and busy answers: %v", statuses)
				require.Positive(t, statuses[503], "a flood waits a bounded time for a slot: %v", statuses)
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := app.Config{ClientAuthFailures: budget}
			if tc.manyAddresses {
				cfg.TrustedProxies = []string{"127.0.0.1"}
			}
			e := newEnvWith(t, cfg)
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}}
			t.Cleanup(client.CloseIdleConnections)

			runtime.GC()
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			var peakHeap uint64
			stop := make(chan struct{})
			sampled := make(chan struct{})
			go func() {
				defer close(sampled)
				var m runtime.MemStats
				for {
					runtime.ReadMemStats(&m)
					peakHeap = max(peakHeap, m.HeapInuse)
					select {
					case <-stop:
						return
					case <-time.After(20 * time.Millisecond):
					}
				}
			}()

			var mu sync.Mutex
			statuses := map[int]int{}
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					var req *http.Request
					if tc.login {
						req, _ = http.NewRequest("POST", e.srv.URL+"/admin/api/login",
							strings.NewReader(`{"name":"root","password":"wrong password `+strconv.Itoa(i)+`"}`))
						req.Header.Set("Content-Type", "application/json")
					} else {
						req, _ = http.NewRequest("GET", e.srv.URL+"/admin/api/tenants", nil)
						req.SetBasicAuth("root", "wrong password "+strconv.Itoa(i))
					}
					if tc.manyAddresses {
						req.Header.Set("X-Forwarded-For", "198.51."+strconv.Itoa(100+i/250)+"."+strconv.Itoa(i%250))
					}
					<-start
					status := 0
					if res, err := client.Do(req); err == nil {
						_, _ = io.Copy(io.Discard, res.Body)
						res.Body.Close()
						status = res.StatusCode
						if (status == 429 || status == 503) && res.Header.Get("Retry-After") == "" {
							status = -status // refused without saying when to retry
						}
					}
					mu.Lock()
					statuses[status]++
					mu.Unlock()
				})
			}
			close(start)
			wg.Wait()
			close(stop)
			<-sampled

			require.Zero(t, statuses[200], "%v", statuses)
			tc.want(t, statuses)
			_, peak := credential.PasswordWork()
			require.LessOrEqual(t, peak, credential.PasswordSlots, "argon2id computations at once")
			growth := int64(peakHeap) - int64(before.HeapInuse)
			t.Logf("%v; heap in use grew by at most %d MiB", statuses, growth>>20)
			// 1,000 unbounded checks would take 19 GiB; the slots bound
			// them to about 80 MiB, with room for GC slack, the 1,000
			// requests and this package's other tests.
			require.Less(t, growth, int64(512<<20), "heap growth")

			// Once the flood is over, the right password signs in again from
			// an address with budget left.
			req, _ := http.NewRequest("GET", e.srv.URL+"/admin/api/me", nil)
			req.SetBasicAuth("root", password)
			if tc.manyAddresses {
				req.Header.Set("X-Forwarded-For", "192.0.2.200")
				res, err := client.Do(req)
				require.NoError(t, err)
				res.Body.Close()
				require.Equal(t, 200, res.StatusCode)
			}
		})
	}
}

// TestChangeOwnPassword shows that changing one's own password takes the
// current password as well as a session, and that a wrong one counts as a
// failed sign-in of the address.
func TestChangeOwnPassword(t *testing.T) {
	t.Parallel()
	const next = "another long password"
	type attempt struct {
		body   string
		status int
	}
	for _, tc := range []struct {
		name     string
		attempts []attempt
		changed  bool // the new password signs in afterwards
	}{
		{
			name:     "RightCurrentPassword",
			attempts: []attempt{{`{"current_password":"` + password + `","password":"` + next + `"}`, 204}},
			changed:  true,
		},
		{
			name:     "SessionAlone",
			attempts: []attempt{{`{"password":"` + next + `"}`, 400}},
		},
		{
			name:     "WrongCurrentPassword",
			attempts: []attempt{{`{"current_password":"not the password","password":"` + next + `"}`, 403}},
		},
		{
			name:     "NewPasswordTooShort",
			attempts: []attempt{{`{"current_password":"` + password + `","password":"short"}`, 400}},
		},
		{
			// Three failures are the budget; the right password then
			// waits with everyone else from the address.
			name: "GuessingIsLimited",
			attempts: []attempt{
				{`{"current_password":"guess one guess","password":"` + next + `"}`, 403},
				{`{"current_password":"guess two guess","password":"` + next + `"}`, 403},
				{`{"current_password":"guess three guess","password":"` + next + `"}`, 403},
				{`{"current_password":"` + password + `","password":"` + next + `"}`, 429},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnvWith(t, app.Config{ClientAuthFailures: 3})
			tok := e.login("root")
			for i, a := range tc.attempts {
				r := e.call("PUT", "/admin/api/me/password", tok, a.body)
				require.Equal(t, a.status, r.status, "attempt %d: %v", i, r.json)
				if a.status == 429 {
					require.NotEmpty(t, r.header.Get("Retry-After"))
				}
			}
			ctx := context.Background()
			_, err := e.roster.Admins.CheckPassword(ctx, "root", next)
			if !tc.changed {
				require.Error(t, err, "the password is unchanged")
				require.Equal(t, 200, e.call("GET", "/admin/api/me", tok, "").status, "the session goes on")
				return
			}
			require.NoError(t, err)
			require.Equal(t, 401, e.call("GET", "/admin/api/me", tok, "").status, "a password change ends sessions")
		})
	}
}
