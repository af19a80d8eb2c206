package scimclient

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// RetryPolicy says which failed attempts are sent again and how long the
// client waits first.
//
// A 429 is retried for every method, because the server did not process
// the request, after the Retry-After it names (delta-seconds or HTTP-date,
// RFC 9110 §10.2.3) or, without one, after a backoff. A status in Statuses
// (5xx) and an error without a response (timeout, refused or reset
// connection) are retried only for the Methods that are safe to repeat:
// repeating a POST whose response was lost may create a duplicate, which
// Entra's and Okta's SPs answer with a 409 forever (IDP-NOTES §1.1).
type RetryPolicy struct {
	// MaxAttempts counts the first attempt: 1 never retries. Default 4.
	MaxAttempts int
	// BaseDelay is the first backoff; each retry doubles it, and a random
	// jitter of up to half of it is taken off so that clients that failed
	// together do not come back together. Default 200ms.
	BaseDelay time.Duration
	// MaxDelay caps a backoff. A Retry-After longer than MaxDelay is not
	// waited for: the 429 is returned, so that the caller can schedule the
	// work later instead of holding a goroutine. Default 30s.
	MaxDelay time.Duration
	// Methods are retried on Statuses and on errors without a response.
	// Default GET, HEAD, PUT, DELETE, OPTIONS.
	Methods []string
	// Statuses are retried for Methods. Default 500, 502, 503, 504.
	Statuses []int
}

// DefaultRetry is the policy of a zero RetryPolicy.
var DefaultRetry = RetryPolicy{
	MaxAttempts: 4,
	BaseDelay:   200 * time.Millisecond,
	MaxDelay:    30 * time.Second,
	Methods:     []string{http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions},
	Statuses:    []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout},
}

// NoRetry sends every request once: what a conformance check or a load
// measurement needs, since a retry would hide what the server did.
var NoRetry = RetryPolicy{MaxAttempts: 1}

// withDefaults fills the zero fields from DefaultRetry.
func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = DefaultRetry.MaxAttempts
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = DefaultRetry.BaseDelay
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = DefaultRetry.MaxDelay
	}
	if p.Methods == nil {
		p.Methods = DefaultRetry.Methods
	}
	if p.Statuses == nil {
		p.Statuses = DefaultRetry.Statuses
	}
	return p
}

// next decides after attempt n whether to retry and how long to wait.
func (p RetryPolicy) next(method string, n int, res *Response, err error) (time.Duration, bool) {
	if n >= p.MaxAttempts {
		return 0, false
	}
	switch {
	case err != nil:
		if errors.Is(err, context.Canceled) || !p.safe(method) || !transient(err) {
			return 0, false
		}
	case res.Status == http.StatusTooManyRequests:
		if d, ok := RetryAfter(res.Header, time.Now()); ok {
			return d, d <= p.MaxDelay
		}
	case slices.Contains(p.Statuses, res.Status):
		if !p.safe(method) {
			return 0, false
		}
		// A 503 may say when to come back, too.
		if d, ok := RetryAfter(res.Header, time.Now()); ok {
			return d, d <= p.MaxDelay
		}
	default:
		return 0, false
	}
	return p.backoff(n), true
}

func (p RetryPolicy) safe(method string) bool { return slices.Contains(p.Methods, method) }

// backoff returns the wait after attempt n: BaseDelay·2^(n-1), capped at
// MaxDelay, less a random jitter of up to half.
func (p RetryPolicy) backoff(n int) time.Duration {
	d := p.BaseDelay
	for i := 1; i < n && d < p.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, p.MaxDelay)
	if d <= 1 {
		return d
	}
	return d - rand.N(d/2)
}

// permanent marks an error retrying cannot fix: a request that cannot be
// built, a token that cannot be had.
type permanent struct{ err error }

func (e permanent) Error() string { return e.err.Error() }
func (e permanent) Unwrap() error { return e.err }

// transient reports whether an error without a response is worth
// retrying: timeouts, refused and reset connections and cut bodies are.
func transient(err error) bool {
	var p permanent
	return !errors.As(err, &p)
}

// RetryAfter parses a Retry-After header (RFC 9110 §10.2.3): delay-seconds
// or an HTTP-date, relative to now. A date in the past means no wait.
func RetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s < 0 {
			return 0, false
		}
		if s > int64(24*time.Hour/time.Second) {
			s = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(s) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(0, t.Sub(now)), true
}
