package target_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/provision/target"
	"github.com/rosterhq/roster/internal/scimclient"
)

// counting is a SCIM server that answers every request with an empty
// user after delay, and counts requests by method and the most in flight.
type counting struct {
	srv      *httptest.Server
	mu       sync.Mutex
	byMethod map[string]int
	inFlight int
	maxSeen  int
}

func newCounting(t *testing.T, delay time.Duration, status int) *counting {
	t.Helper()
	c := &counting{byMethod: map[string]int{}}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		c.mu.Lock()
		c.byMethod[req.Method]++
		c.inFlight++
		c.maxSeen = max(c.maxSeen, c.inFlight)
		c.mu.Unlock()
		defer func() {
			c.mu.Lock()
			c.inFlight--
			c.mu.Unlock()
		}()
		select {
		case <-time.After(delay):
		case <-req.Context().Done():
			return
		}
		w.Header().Set("Content-Type", scimType)
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "0")
		}
		w.WriteHeader(status)
		fmt.Fprint(w, `{"id":"1","userName":"ann"}`)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *counting) count(method string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byMethod[method]
}

// parallel runs n Gets at once and returns how long they took.
func parallel(t *testing.T, tg *target.Target, n int) time.Duration {
	t.Helper()
	start := time.Now()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			_, err := tg.Get(context.Background(), scimclient.Users, "1")
			require.NoError(t, err)
		})
	}
	wg.Wait()
	return time.Since(start)
}

// TestRateLimit: 10 requests at 20 per second take at least 9 intervals
// of 50 ms, even when sent at once.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	c := newCounting(t, 0, http.StatusOK)
	tg, err := target.New(target.Options{URL: c.srv.URL, Token: "t", RequestsPerSecond: 20, Concurrency: 10})
	require.NoError(t, err)
	took := parallel(t, tg, 10)
	require.GreaterOrEqual(t, took, 400*time.Millisecond)
	require.Less(t, took, 5*time.Second)
	require.Equal(t, 10, c.count(http.MethodGet))
}

// TestConcurrencyBound: 20 requests at once with Concurrency 3 never have
// more than 3 in flight at the server.
func TestConcurrencyBound(t *testing.T) {
	t.Parallel()
	c := newCounting(t, 30*time.Millisecond, http.StatusOK)
	tg, err := target.New(target.Options{URL: c.srv.URL, Token: "t", Concurrency: 3})
	require.NoError(t, err)
	parallel(t, tg, 20)
	c.mu.Lock()
	defer c.mu.Unlock()
	require.LessOrEqual(t, c.maxSeen, 3)
	require.Greater(t, c.maxSeen, 1, "requests do run in parallel")
	require.Equal(t, 20, c.byMethod[http.MethodGet])
}

// TestWaitHonoursContext: a request waiting for the only slot, or for
// the rate, gives up when its context ends.
func TestWaitHonoursContext(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		o    target.Options
	}{
		{name: "Slot", o: target.Options{Concurrency: 1}},
		{name: "Rate", o: target.Options{RequestsPerSecond: 0.1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newCounting(t, time.Second, http.StatusOK)
			tc.o.URL, tc.o.Token = c.srv.URL, "t"
			tg, err := target.New(tc.o)
			require.NoError(t, err)
			go tg.Get(context.Background(), scimclient.Users, "1") //nolint:errcheck // it holds the slot or the rate's token
			require.Eventually(t, func() bool { return c.count(http.MethodGet) == 1 }, 2*time.Second, 5*time.Millisecond)
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err = tg.Get(ctx, scimclient.Users, "2")
			require.ErrorIs(t, err, context.DeadlineExceeded)
			require.Less(t, time.Since(start), 900*time.Millisecond)
			require.Equal(t, 1, c.count(http.MethodGet), "the second request was never sent")
		})
	}
}

// TestRetryPolicy pins the SCIM client's policy as the target meets it: a
// POST or PATCH that times out is sent once (the app may have acted on
// it), a GET is sent again, and a 429 is retried for every method.
func TestRetryPolicy(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		status int
		delay  time.Duration
		call   func(*target.Target) error
		method string
		sent   int
	}{
		{name: "POSTTimeout", delay: time.Second, status: 201, method: http.MethodPost, sent: 1, call: func(tg *target.Target) error {
			_, err := tg.Create(context.Background(), scimclient.Users, map[string]any{"userName": "ann"})
			return err
		}},
		{name: "PATCHTimeout", delay: time.Second, status: 200, method: http.MethodPatch, sent: 1, call: func(tg *target.Target) error {
			return tg.Update(context.Background(), scimclient.Users, "1", nil, []scimclient.Op{scimclient.Replace("title", "x")})
		}},
		{name: "POST503", status: 503, method: http.MethodPost, sent: 1, call: func(tg *target.Target) error {
			_, err := tg.Create(context.Background(), scimclient.Users, map[string]any{"userName": "ann"})
			return err
		}},
		{name: "GETTimeout", delay: time.Second, status: 200, method: http.MethodGet, sent: scimclient.DefaultRetry.MaxAttempts, call: func(tg *target.Target) error {
			_, err := tg.Get(context.Background(), scimclient.Users, "1")
			return err
		}},
		{name: "POST429", status: 429, method: http.MethodPost, sent: scimclient.DefaultRetry.MaxAttempts, call: func(tg *target.Target) error {
			_, err := tg.Create(context.Background(), scimclient.Users, map[string]any{"userName": "ann"})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newCounting(t, tc.delay, tc.status)
			tg, err := target.New(target.Options{URL: c.srv.URL, Token: "t", Timeout: 100 * time.Millisecond})
			require.NoError(t, err)
			require.Error(t, tc.call(tg))
			require.Equal(t, tc.sent, c.count(tc.method))
		})
	}
}

// TestDescribe: the Tenant URL without credentials.
func TestDescribe(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url, want, not string
	}{
		{url: "https://app.example.com/scim/v2", want: "SCIM app https://app.example.com/scim/v2 (dialect rfc)"},
		{url: "https://bob:pw@app.example.com/scim", want: "https://%5Bredacted%5D@app.example.com/scim", not: "pw"},
		{url: "https://app.example.com/scim?api_token=abc&tenant=x", want: "tenant=x", not: "abc"},
	} {
		tg, err := target.New(target.Options{URL: tc.url, Token: "s3cret"})
		require.NoError(t, err)
		d := tg.Describe()
		require.Contains(t, d, tc.want)
		require.NotContains(t, d, "s3cret")
		if tc.not != "" {
			require.NotContains(t, d, tc.not)
		}
	}
}

// TestNewRefuses bad options.
func TestNewRefuses(t *testing.T) {
	t.Parallel()
	src := func(context.Context) (string, error) { return "", nil }
	for _, o := range []target.Options{
		{URL: "ftp://example.com"},
		{URL: "https://example.com", MembersPerPatch: -1},
		{URL: "https://example.com", Concurrency: -1},
		{URL: "https://example.com", RequestsPerSecond: -1},
		{URL: "https://example.com", Token: "t", TokenSource: src},
	} {
		_, err := target.New(o)
		require.Error(t, err, "%+v", o)
	}
}
