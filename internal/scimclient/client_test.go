package scimclient_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/scim/scimerr"
	"github.com/rosterhq/roster/internal/scimclient"
)

// fastRetry retries quickly, so that backoff tests take milliseconds.
var fastRetry = scimclient.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Second}

// serve starts a server whose handler gets the 1-based number of each
// request, and returns a client for it.
func serve(t *testing.T, o scimclient.Options, h func(n int, w http.ResponseWriter, r *http.Request)) (*scimclient.Client, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h(int(n.Add(1)), w, r)
	}))
	t.Cleanup(srv.Close)
	c, err := scimclient.New(srv.URL+"/scim/v2/t1", o)
	require.NoError(t, err)
	return c, &n
}

func TestRetry(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		method    string
		timeout   time.Duration // of each attempt; default 5s
		h         func(n int, w http.ResponseWriter, r *http.Request)
		status    int
		attempts  int
		minWait   time.Duration
		wantError bool
	}{
		{
			name: "RetryAfterSeconds", method: http.MethodGet, status: 200, attempts: 2, minWait: time.Second,
			h: func(n int, w http.ResponseWriter, _ *http.Request) {
				if n == 1 {
					w.Header().Set("Retry-After", "1")
					w.WriteHeader(http.StatusTooManyRequests)
					return
				}
				w.WriteHeader(http.StatusOK)
			},
		},
		{
			name: "RetryAfterDate", method: http.MethodGet, status: 200, attempts: 2, minWait: 500 * time.Millisecond,
			h: func(n int, w http.ResponseWriter, _ *http.Request) {
				if n == 1 {
					// HTTP-dates have whole seconds: +2s waits 1–2s.
					w.Header().Set("Retry-After", time.Now().Add(2*time.Second).UTC().Format(http.TimeFormat))
					w.WriteHeader(http.StatusTooManyRequests)
					return
				}
				w.WriteHeader(http.StatusOK)
			},
		},
		{
			name: "PostRetriedOn429", method: http.MethodPost, status: 201, attempts: 2,
			h: func(n int, w http.ResponseWriter, _ *http.Request) {
				if n == 1 {
					w.Header().Set("Retry-After", "0")
					w.WriteHeader(http.StatusTooManyRequests)
					return
				}
				w.WriteHeader(http.StatusCreated)
			},
		},
		{
			name: "ServiceUnavailableThenOK", method: http.MethodGet, status: 200, attempts: 2,
			h: func(n int, w http.ResponseWriter, _ *http.Request) {
				if n == 1 {
					w.WriteHeader(http.StatusServiceUnavailable)
					return
				}
				w.WriteHeader(http.StatusOK)
			},
		},
		{
			name: "TimeoutThenOK", method: http.MethodDelete, timeout: 100 * time.Millisecond, status: 204, attempts: 2,
			h: func(n int, w http.ResponseWriter, r *http.Request) {
				if n == 1 {
					select {
					case <-r.Context().Done():
					case <-time.After(2 * time.Second):
					}
					return
				}
				w.WriteHeader(http.StatusNoContent)
			},
		},
		{
			name: "PostNotRetriedOn500", method: http.MethodPost, status: 500, attempts: 1,
			h: func(_ int, w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusInternalServerError)
			},
		},
		{
			name: "PatchNotRetriedOnTimeout", method: http.MethodPatch, timeout: 100 * time.Millisecond, attempts: 1, wantError: true,
			h: func(_ int, _ http.ResponseWriter, r *http.Request) {
				select {
				case <-r.Context().Done():
				case <-time.After(2 * time.Second):
				}
			},
		},
		{
			name: "NotImplementedNotRetried", method: http.MethodGet, status: 501, attempts: 1,
			h: func(_ int, w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusNotImplemented)
			},
		},
		{
			name: "MaxAttempts", method: http.MethodPut, status: 502, attempts: 3,
			h: func(_ int, w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusBadGateway)
			},
		},
		{
			name: "RetryAfterBeyondMaxDelay", method: http.MethodGet, status: 429, attempts: 1,
			h: func(_ int, w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Retry-After", "3600")
				w.WriteHeader(http.StatusTooManyRequests)
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			timeout := tc.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			c, n := serve(t, scimclient.Options{Token: "secret", Retry: fastRetry, Timeout: timeout}, tc.h)
			start := time.Now()
			res, err := c.Do(context.Background(), scimclient.Request{Method: tc.method, Path: "/Users/1", Body: []byte(`{}`)})
			if tc.wantError {
				require.Error(t, err)
				require.Equal(t, tc.attempts, int(n.Load()))
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.status, res.Status)
			require.Equal(t, tc.attempts, res.Attempts)
			require.Equal(t, tc.attempts, int(n.Load()))
			require.GreaterOrEqual(t, time.Since(start), tc.minWait)
		})
	}
}

// TestRetryStopsWithContext requires a wait to end when the caller's
// context does.
func TestRetryStopsWithContext(t *testing.T) {
	t.Parallel()
	c, n := serve(t, scimclient.Options{Retry: scimclient.RetryPolicy{MaxAttempts: 5, MaxDelay: time.Minute}},
		func(_ int, w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(http.StatusTooManyRequests)
		})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := c.Do(ctx, scimclient.Request{Method: http.MethodGet, Path: "/Users"})
	require.NoError(t, err)
	require.Equal(t, http.StatusTooManyRequests, res.Status)
	require.Equal(t, 1, int(n.Load()))
	require.Less(t, time.Since(start), 5*time.Second)
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		value string
		want  time.Duration
		ok    bool
	}{
		{"Seconds", "120", 2 * time.Minute, true},
		{"Zero", "0", 0, true},
		{"Date", "Mon, 07 Dec 2026 12:00:30 GMT", 30 * time.Second, true},
		{"PastDate", "Mon, 07 Dec 2026 11:00:00 GMT", 0, true},
		{"Missing", "", 0, false},
		{"Negative", "-5", 0, false},
		{"Garbage", "soon", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			if tc.value != "" {
				h.Set("Retry-After", tc.value)
			}
			got, ok := scimclient.RetryAfter(h, now)
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestDecodeError(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		status   int
		body     string
		scimType scimerr.Type
		detail   string
	}{
		{"ScimBody", 409, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"409","scimType":"uniqueness","detail":"userName taken"}`, "uniqueness", "userName taken"},
		{"IntegerStatus", 409, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"detail":"User already exists in the database.","status":409}`, "", "User already exists in the database."},
		{"InvalidFilter", 400, `{"status":"400","scimType":"invalidFilter","detail":"bad"}`, "invalidFilter", "bad"},
		{"HTMLBody", 403, "<html><head><title>403 Forbidden</title></head><body><h1>Forbidden</h1></body></html>", "", "403 Forbidden"},
		{"PlainText", 502, "upstream connect error\nor disconnect", "", "upstream connect error or disconnect"},
		{"EmptyBody", 503, "", "", "Service Unavailable"},
		{"WhitespaceBody", 404, " \n", "", "Not Found"},
		{"BrokenJSON", 500, `{"detail":`, "", `{"detail":`},
		{"JSONWithoutDetail", 401, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"]}`, "", "Unauthorized"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := scimclient.DecodeError(tc.status, []byte(tc.body))
			require.Equal(t, tc.status, e.Status)
			require.Equal(t, tc.scimType, e.ScimType)
			require.Equal(t, tc.detail, e.Detail)
		})
	}
}

// TestTypedHelpersReturnScimErrors requires a non-2xx answer to a typed
// helper to be the protocol core's error, wrapped with the request.
func TestTypedHelpersReturnScimErrors(t *testing.T) {
	t.Parallel()
	c, _ := serve(t, scimclient.Options{Retry: scimclient.NoRetry}, func(_ int, w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet:
			w.Header().Set("Content-Type", "application/scim+json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"404","detail":"no such user"}`)
		case http.MethodPost:
			w.WriteHeader(http.StatusConflict)
			_, _ = io.WriteString(w, `{"status":"409","scimType":"uniqueness","detail":"taken"}`)
		default:
			w.WriteHeader(http.StatusBadGateway)
		}
	})
	ctx := context.Background()
	_, err := c.Get(ctx, scimclient.Users, "u1", scimclient.Attributes{})
	require.True(t, scimclient.IsNotFound(err))
	require.Contains(t, err.Error(), "GET /Users/u1")
	_, err = c.Create(ctx, scimclient.Users, map[string]any{"userName": "x"})
	e := scimerr.As(err)
	require.NotNil(t, e)
	require.Equal(t, scimerr.TypeUniqueness, e.ScimType)
	err = c.Delete(ctx, scimclient.Users, "u1")
	require.Equal(t, http.StatusBadGateway, scimclient.StatusOf(err))
	require.Equal(t, "DELETE /Users/u1: scim 502: Bad Gateway", err.Error())
}

// TestRetryAfterReachesCaller requires a 429 the client did not wait for
// to tell the caller when to come back.
func TestRetryAfterReachesCaller(t *testing.T) {
	t.Parallel()
	c, _ := serve(t, scimclient.Options{Retry: scimclient.RetryPolicy{MaxDelay: time.Second}}, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	_, err := c.Patch(context.Background(), scimclient.Users, "u1", scimclient.Replace("active", false))
	var re *scimclient.ResponseError
	require.ErrorAs(t, err, &re)
	require.Equal(t, http.StatusTooManyRequests, re.SCIM.Status)
	d, ok := re.RetryAfter()
	require.True(t, ok)
	require.Equal(t, 2*time.Minute, d)
}

func TestCapture(t *testing.T) {
	t.Parallel()
	var (
		mu  sync.Mutex
		got []scimclient.Exchange
	)
	c, _ := serve(t, scimclient.Options{
		Token: "s3cret", Retry: fastRetry, CaptureLimit: 10,
		Capture: func(x scimclient.Exchange) {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, x)
		},
	}, func(n int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Attempt", fmt.Sprint(n))
		if n == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, `{"id":"0123456789abcdef"}`)
	})
	res, err := c.Do(context.Background(), scimclient.Request{
		Method: http.MethodPut, Path: "/Users/1", Body: `{"userName":"a-rather-long-name"}`,
		Header: http.Header{"If-Match": {`W/"1"`}},
	})
	require.NoError(t, err)
	require.Equal(t, 200, res.Status)
	require.Len(t, got, 2)
	for i, x := range got {
		require.Equal(t, i+1, x.Attempt)
		require.Equal(t, http.MethodPut, x.Method)
		require.True(t, strings.HasSuffix(x.URL, "/scim/v2/t1/Users/1"), x.URL)
		require.Equal(t, scimclient.Redacted, x.RequestHeader.Get("Authorization"))
		require.Equal(t, `W/"1"`, x.RequestHeader.Get("If-Match"))
		require.Equal(t, "application/scim+json", x.RequestHeader.Get("Content-Type"))
		require.Equal(t, `{"userName… (23 more bytes)`, x.RequestBody)
		require.Equal(t, fmt.Sprint(i+1), x.ResponseHeader.Get("X-Attempt"))
		require.Positive(t, x.Duration)
		require.NoError(t, x.Err)
	}
	require.Equal(t, 503, got[0].Status)
	require.Equal(t, 200, got[1].Status)
	require.Equal(t, `{"id":"012… (15 more bytes)`, got[1].ResponseBody)
	for _, x := range got {
		b, err := json.Marshal(x.RequestHeader)
		require.NoError(t, err)
		require.NotContains(t, string(b), "s3cret")
	}
}

// TestCaptureWithoutResponse requires an exchange for an attempt that got
// no response, with the error.
func TestCaptureWithoutResponse(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close() // nothing listens any more
	var got []scimclient.Exchange
	c, err := scimclient.New(srv.URL, scimclient.Options{Retry: scimclient.NoRetry, Capture: func(x scimclient.Exchange) { got = append(got, x) }})
	require.NoError(t, err)
	_, err = c.Do(context.Background(), scimclient.Request{Method: http.MethodGet, Path: "/Users"})
	require.Error(t, err)
	require.Len(t, got, 1)
	require.Zero(t, got[0].Status)
	require.Error(t, got[0].Err)
}

func TestAuth(t *testing.T) {
	t.Parallel()
	var seen []string
	var mu sync.Mutex
	h := func(_ int, w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization")+"|"+r.Header.Get("Accept"))
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}
	calls := 0
	c, _ := serve(t, scimclient.Options{TokenSource: func(context.Context) (string, error) {
		calls++
		return fmt.Sprintf("tok%d", calls), nil
	}}, h)
	for range 2 {
		_, err := c.Do(context.Background(), scimclient.Request{Method: http.MethodGet, Path: "/Users"})
		require.NoError(t, err)
	}
	require.Equal(t, []string{"Bearer tok1|application/scim+json", "Bearer tok2|application/scim+json"}, seen)

	failing, _ := serve(t, scimclient.Options{TokenSource: func(context.Context) (string, error) {
		return "", fmt.Errorf("token endpoint down")
	}}, h)
	_, err := failing.Do(context.Background(), scimclient.Request{Method: http.MethodGet, Path: "/Users"})
	require.ErrorContains(t, err, "token endpoint down")
}

func TestNewRejectsBadURL(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"", "ftp://host/scim", "/scim/v2", "http://"} {
		_, err := scimclient.New(u, scimclient.Options{})
		require.Error(t, err, u)
	}
}

// TestCaptureRedactsCredentials requires every credential-bearing header,
// sent or received, to reach Capture as Redacted, and other headers as they
// were.
func TestCaptureRedactsCredentials(t *testing.T) {
	t.Parallel()
	const secret = "hunter2"
	var got []scimclient.Exchange
	c, _ := serve(t, scimclient.Options{
		Token: secret, Retry: scimclient.NoRetry,
		Capture: func(x scimclient.Exchange) { got = append(got, x) },
	}, func(_ int, w http.ResponseWriter, _ *http.Request) {
		for _, k := range []string{"Set-Cookie", "X-Auth-Token", "X-Client-Secret", "X-Api-Key", "X-Temp-Password"} {
			w.Header().Set(k, secret)
		}
		w.Header().Set("X-Request-Id", "r1")
		w.WriteHeader(http.StatusOK)
	})
	sent := map[string]string{
		"Proxy-Authorization": "Basic " + secret,
		"Cookie":              "session=" + secret,
		"X-API-Key":           secret,
		"x-apikey":            secret,
		"X-Api_Key":           secret,
		"X-Access-Token":      secret,
		"Client-SECRET":       secret,
		"X-Password":          secret,
	}
	h := http.Header{"If-Match": {`W/"1"`}}
	for k, v := range sent {
		h[k] = []string{v}
	}
	_, err := c.Do(context.Background(), scimclient.Request{Method: http.MethodGet, Path: "/Users", Header: h})
	require.NoError(t, err)
	require.Len(t, got, 1)
	x := got[0]
	for k := range sent {
		require.Equal(t, []string{scimclient.Redacted}, x.RequestHeader.Values(k), k)
	}
	require.Equal(t, []string{scimclient.Redacted}, x.RequestHeader.Values("Authorization"))
	require.Equal(t, `W/"1"`, x.RequestHeader.Get("If-Match"))
	require.Equal(t, "application/scim+json", x.RequestHeader.Get("Accept"))
	for _, k := range []string{"Set-Cookie", "X-Auth-Token", "X-Client-Secret", "X-Api-Key", "X-Temp-Password"} {
		require.Equal(t, []string{scimclient.Redacted}, x.ResponseHeader.Values(k), k)
	}
	require.Equal(t, "r1", x.ResponseHeader.Get("X-Request-Id"))
	b, err := json.Marshal(x)
	require.NoError(t, err)
	require.NotContains(t, string(b), secret)
}

// TestResponseTooLarge requires a body over MaxResponseBytes, announced or
// not, to be an ErrResponseTooLarge naming the limit and the request, sent
// once, and a body at the limit to be read whole.
func TestResponseTooLarge(t *testing.T) {
	t.Parallel()
	const limit = 64
	for _, tc := range []struct {
		name    string
		size    int
		chunked bool // no Content-Length: the size is found by reading
		tooBig  bool
	}{
		{name: "AtLimit", size: limit},
		{name: "AtLimitChunked", size: limit, chunked: true},
		{name: "OverLimit", size: limit + 1, tooBig: true},
		{name: "OverLimitChunked", size: limit + 1, chunked: true, tooBig: true},
		{name: "FarOverLimitChunked", size: 1 << 20, chunked: true, tooBig: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []scimclient.Exchange
			var mu sync.Mutex
			c, n := serve(t, scimclient.Options{
				MaxResponseBytes: limit, Retry: fastRetry,
				Capture: func(x scimclient.Exchange) {
					mu.Lock()
					defer mu.Unlock()
					got = append(got, x)
				},
			}, func(_ int, w http.ResponseWriter, _ *http.Request) {
				body := `{"id":"` + strings.Repeat("x", tc.size-len(`{"id":""}`)) + `"}`
				if !tc.chunked {
					w.Header().Set("Content-Length", fmt.Sprint(len(body)))
				}
				w.WriteHeader(http.StatusOK)
				if tc.chunked {
					w.(http.Flusher).Flush()
				}
				_, _ = io.WriteString(w, body)
			})
			r, err := c.Get(context.Background(), scimclient.Users, "u1", scimclient.Attributes{})
			if !tc.tooBig {
				require.NoError(t, err)
				require.Len(t, r.Raw, tc.size)
				return
			}
			require.ErrorIs(t, err, scimclient.ErrResponseTooLarge)
			require.ErrorContains(t, err, "GET ")
			require.ErrorContains(t, err, "/scim/v2/t1/Users/u1")
			require.ErrorContains(t, err, fmt.Sprint(limit))
			require.Equal(t, 1, int(n.Load()), "a body too large is not retried")
			require.Len(t, got, 1)
			require.Equal(t, http.StatusOK, got[0].Status)
			require.ErrorIs(t, got[0].Err, scimclient.ErrResponseTooLarge)
		})
	}
}
