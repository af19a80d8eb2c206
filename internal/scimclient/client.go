package scimclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/scim/scimerr"
)

// MediaType is the SCIM media type of RFC 7644 §3.1, sent as Accept and,
// with a body, as Content-Type.
const MediaType = "application/scim+json"

// Defaults of Options.
const (
	DefaultTimeout             = 30 * time.Second
	DefaultMaxIdleConnsPerHost = 32
	DefaultMaxResponseBytes    = 32 << 20
	DefaultCaptureLimit        = 2048
)

// Options configure a Client. The zero value is usable: a bearer token is
// the only thing most callers set.
type Options struct {
	// Token is sent as "Authorization: Bearer <Token>".
	Token string
	// TokenSource, if set, is asked for the bearer token before every
	// attempt instead of using Token, so that an OAuth token can be
	// refreshed. Other authentication schemes can be plugged in through
	// HTTPClient's Transport (an http.RoundTripper) with both left empty.
	TokenSource func(ctx context.Context) (string, error)
	// HTTPClient sends the requests. Default: one client with its own
	// pooled Transport (MaxIdleConnsPerHost) and Timeout, so that
	// connections are reused across requests.
	HTTPClient *http.Client
	// Timeout bounds each attempt of the default HTTPClient. Default 30s.
	Timeout time.Duration
	// MaxIdleConnsPerHost sizes the default Transport's idle pool; a load
	// generator sets it to its concurrency. Default 32.
	MaxIdleConnsPerHost int
	// MaxResponseBytes bounds how much of a response body is read; a
	// larger body is an error, ErrResponseTooLarge, not a cut body.
	// Default 32 MiB.
	MaxResponseBytes int64
	// Retry says which failures are retried and how long to wait.
	// The zero value means DefaultRetry; NoRetry sends every request once.
	Retry RetryPolicy
	// Dialect shapes requests the way an identity provider does.
	// The zero value is RFC.
	Dialect Dialect
	// Capture, if set, receives every attempt's exchange, for reports.
	// It may be called from several goroutines at once.
	Capture func(Exchange)
	// CaptureLimit is how many bytes of each body an Exchange keeps.
	// Default 2048.
	CaptureLimit int
}

// Client sends SCIM requests to one Tenant URL (RFC 7644 §3). It is safe for
// concurrent use.
type Client struct {
	base      string
	auth      string // "Bearer <token>", precomputed for the static token
	tokenSrc  func(ctx context.Context) (string, error)
	http      *http.Client
	maxBody   int64
	retry     RetryPolicy
	dialect   Dialect
	capture   func(Exchange)
	captLimit int
}

// New returns a client for the Tenant URL, e.g.
// https://host/scim/v2/default. For the Entra dialects, Entra's feature
// flags in the URL's query (aadOptscim062020, AzureAdScimPatch2017) are
// removed and select the dialect, as the Entra provisioning service does
// (IDP-NOTES §1.5).
func New(tenantURL string, o Options) (*Client, error) {
	u, err := url.Parse(tenantURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("scimclient: tenant URL %q is not an http(s) URL", tenantURL)
	}
	d := o.Dialect
	if d.Name == "" {
		d = RFC
	}
	tenantURL, d = entraFlags(tenantURL, u, d)
	hc := o.HTTPClient
	if hc == nil {
		timeout := o.Timeout
		if timeout <= 0 {
			timeout = DefaultTimeout
		}
		idle := o.MaxIdleConnsPerHost
		if idle <= 0 {
			idle = DefaultMaxIdleConnsPerHost
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConns = max(tr.MaxIdleConns, idle)
		tr.MaxIdleConnsPerHost = idle
		hc = &http.Client{Timeout: timeout, Transport: tr}
	}
	c := &Client{
		base:      strings.TrimRight(tenantURL, "/"),
		tokenSrc:  o.TokenSource,
		http:      hc,
		maxBody:   o.MaxResponseBytes,
		retry:     o.Retry.withDefaults(),
		dialect:   d,
		capture:   o.Capture,
		captLimit: o.CaptureLimit,
	}
	if o.Token != "" {
		c.auth = "Bearer " + o.Token
	}
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxResponseBytes
	}
	if c.captLimit <= 0 {
		c.captLimit = DefaultCaptureLimit
	}
	return c, nil
}

// entraFlags removes Entra's URL feature flags from an Entra-family
// dialect's Tenant URL and returns the dialect they select.
func entraFlags(raw string, u *url.URL, d Dialect) (string, Dialect) {
	if d.Name != Entra.Name && d.Name != EntraSCIM062020.Name {
		return raw, d
	}
	q := u.Query()
	switch {
	case q.Has("aadOptscim062020"):
		q.Del("aadOptscim062020")
		d = EntraSCIM062020
	case q.Has("AzureAdScimPatch2017"):
		q.Del("AzureAdScimPatch2017")
		d = Entra
	default:
		return raw, d
	}
	u.RawQuery = q.Encode()
	return u.String(), d
}

// URL returns the Tenant URL requests are sent under, without a trailing
// slash and without Entra's feature flags.
func (c *Client) URL() string { return c.base }

// Dialect returns the dialect the client shapes requests with.
func (c *Client) Dialect() Dialect { return c.dialect }

// Request is one SCIM request for Do.
type Request struct {
	Method string
	// Path is appended to the Tenant URL as is: "/Users/2819c223?attributes=userName".
	Path string
	// Body is sent as is when it is []byte, string or json.RawMessage, and
	// encoded as JSON otherwise; nil sends no body.
	Body any
	// Header holds extra headers, e.g. If-Match.
	Header http.Header
}

// Response is a received response. Its body is read in full and not
// decoded, so that a caller that only needs the status pays nothing for
// JSON.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	// Attempts is how many times the request was sent.
	Attempts int
}

// OK reports whether the status is 2xx.
func (r *Response) OK() bool { return r.Status >= 200 && r.Status < 300 }

// Err returns nil for a 2xx response and otherwise the SCIM error of its
// body (see DecodeError).
func (r *Response) Err() error {
	if r.OK() {
		return nil
	}
	return DecodeError(r.Status, r.Body)
}

// Decode decodes the JSON body into v.
func (r *Response) Decode(v any) error {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("decode %d response: %w", r.Status, err)
	}
	return nil
}

// Do sends a request, retrying it as the RetryPolicy allows, and returns
// the last response whatever its status: a 4xx or 5xx is a Response, not an
// error (use Response.Err). The error is for requests that got no response,
// after the last attempt, a response body over MaxResponseBytes
// (ErrResponseTooLarge, not retried), or a body that could not be encoded.
func (c *Client) Do(ctx context.Context, r Request) (*Response, error) {
	var body []byte
	switch b := r.Body.(type) {
	case nil:
	case []byte:
		body = b
	case json.RawMessage:
		body = b
	case string:
		body = []byte(b)
	default:
		var err error
		if body, err = json.Marshal(b); err != nil {
			return nil, fmt.Errorf("encode %s %s body: %w", r.Method, r.Path, err)
		}
	}
	target := c.base + r.Path
	for attempt := 1; ; attempt++ {
		res, err := c.attempt(ctx, r, target, body, attempt)
		wait, retry := c.retry.next(r.Method, attempt, res, err)
		if retry && ctx.Err() == nil && sleep(ctx, wait) {
			continue
		}
		if err != nil {
			return nil, withRequest(r.Method, target, err)
		}
		res.Attempts = attempt
		return res, nil
	}
}

// sleep waits d and reports whether it did: it does not start a wait that
// would outlive ctx's deadline, and stops when ctx ends, so that the caller
// gets the last response rather than nothing.
func sleep(ctx context.Context, d time.Duration) bool {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// attempt sends the request once.
func (c *Client) attempt(ctx context.Context, r Request, target string, body []byte, n int) (*Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, target, rd)
	if err != nil {
		return nil, permanent{fmt.Errorf("build request: %w", err)}
	}
	auth := c.auth
	if c.tokenSrc != nil {
		tok, err := c.tokenSrc(ctx)
		if err != nil {
			return nil, permanent{fmt.Errorf("token: %w", err)}
		}
		auth = "Bearer " + tok
	}
	if auth != "" {
		req.Header["Authorization"] = []string{auth}
	}
	req.Header["Accept"] = []string{MediaType}
	if body != nil {
		req.Header["Content-Type"] = []string{MediaType}
	}
	c.dialect.header(req.Header)
	for k, v := range r.Header {
		req.Header[http.CanonicalHeaderKey(k)] = v
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	var res *Response
	if err == nil {
		res, err = c.read(resp)
	}
	if c.capture != nil {
		c.capture(c.exchange(req, target, body, res, err, time.Since(start), n))
	}
	return res, err
}

// ErrResponseTooLarge reports a response body over Options.MaxResponseBytes.
// The client stops reading at the limit rather than hand the caller a cut
// body; the error names the limit, the status and the request.
var ErrResponseTooLarge = errors.New("response body too large")

// read reads a response body, up to maxBody bytes. A body over maxBody,
// announced by Content-Length or found by reading one byte past the limit,
// is ErrResponseTooLarge: read then returns the response without its body,
// for Capture, and the error, which is not retried.
func (c *Client) read(resp *http.Response) (*Response, error) {
	defer resp.Body.Close()
	res := &Response{Status: resp.StatusCode, Header: resp.Header}
	head := resp.Request.Method == http.MethodHead
	var err error
	switch n := resp.ContentLength; {
	case head:
		// No body, whatever Content-Length announces.
		res.Body, err = io.ReadAll(io.LimitReader(resp.Body, c.maxBody))
	case n > c.maxBody:
		return res, c.tooLarge(res.Status)
	case n >= 0:
		// The common case: one allocation of the announced size.
		res.Body = make([]byte, n)
		_, err = io.ReadFull(resp.Body, res.Body)
	default:
		// One byte past the limit tells a body at the limit from one over.
		res.Body, err = io.ReadAll(io.LimitReader(resp.Body, min(c.maxBody, math.MaxInt64-1)+1))
		if err == nil && int64(len(res.Body)) > c.maxBody {
			res.Body = nil
			return res, c.tooLarge(res.Status)
		}
	}
	if err != nil {
		// The status arrived; the body did not. Retrying is decided on
		// the error, as for a connection that broke.
		return nil, fmt.Errorf("read response: %w", err)
	}
	return res, nil
}

// tooLarge returns the error of a response body over maxBody. Do adds the
// method and URL. Retrying would read the same body again, so it is
// permanent.
func (c *Client) tooLarge(status int) error {
	return permanent{fmt.Errorf("%w: the %d response's body is over Options.MaxResponseBytes (%d bytes)", ErrResponseTooLarge, status, c.maxBody)}
}

// withRequest adds the method and URL to an error that lacks them; an
// *url.Error from net/http already names both.
func withRequest(method, target string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return err
	}
	return fmt.Errorf("%s %s: %w", method, target, err)
}

// send is Do for the typed helpers: a non-2xx status becomes the SCIM
// error of its body, wrapped with the method and path.
func (c *Client) send(ctx context.Context, r Request) (*Response, error) {
	res, err := c.Do(ctx, r)
	if err != nil {
		return nil, err
	}
	if !res.OK() {
		return res, &ResponseError{Method: r.Method, Path: r.Path, Response: res, SCIM: DecodeError(res.Status, res.Body)}
	}
	return res, nil
}

// ResponseError is a non-2xx answer to a typed helper: the SCIM error, and
// the response it came in, whose headers (Retry-After on a 429 the client
// did not wait for) a caller may need. It unwraps to the *scimerr.Error.
type ResponseError struct {
	Method   string
	Path     string
	Response *Response
	SCIM     *scimerr.Error
}

func (e *ResponseError) Error() string { return fmt.Sprintf("%s %s: %v", e.Method, e.Path, e.SCIM) }

// Unwrap returns the SCIM error, so that scimerr.As finds it.
func (e *ResponseError) Unwrap() error { return e.SCIM }

// RetryAfter returns how long the server asked the caller to wait, if it
// did.
func (e *ResponseError) RetryAfter() (time.Duration, bool) {
	return RetryAfter(e.Response.Header, time.Now())
}

// StatusOf returns the HTTP status of a SCIM error in err's chain, or 0.
func StatusOf(err error) int {
	if e := scimerr.As(err); e != nil {
		return e.Status
	}
	return 0
}

// IsNotFound reports whether err is a SCIM 404.
func IsNotFound(err error) bool { return StatusOf(err) == http.StatusNotFound }

// errNoID reports a created or read resource without an id (RFC 7643 §3.1).
var errNoID = errors.New("the resource has no id (RFC 7643 §3.1)")
