package target

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/rosterhq/roster/internal/provision/job"
	"github.com/rosterhq/roster/internal/scimclient"
)

// Options configure a Target.
type Options struct {
	// URL is the app's Tenant URL, e.g. https://app.example.com/scim/v2.
	URL string
	// Token is the Secret Token, sent as a bearer token.
	Token string
	// TokenSource, instead of Token, is asked for a bearer token before
	// every attempt (OAuth client credentials, see FromJob).
	TokenSource func(context.Context) (string, error)
	// Dialect shapes requests as an identity provider does; the zero value
	// is scimclient.RFC.
	Dialect scimclient.Dialect
	// UpdateWithPUT makes Update replace the whole resource with PUT
	// instead of sending PATCH ops. The dialect's own UpdateWithPUT is not
	// consulted here; FromJob copies it when the job does not choose.
	UpdateWithPUT bool
	// MembersPerPatch bounds the members one group PATCH adds or removes.
	// 0 means job.DefaultMembersPerPatch.
	MembersPerPatch int
	// RequestsPerSecond bounds the rate of requests; 0 means no bound.
	RequestsPerSecond float64
	// Concurrency bounds the requests in flight. 0 means
	// job.DefaultConcurrency.
	Concurrency int
	// HTTPClient sends the requests (custom roots, a proxy); a copy of it
	// with its Transport wrapped by the limits is used. Its own Timeout, if
	// set, also counts the wait for a slot, so leave it zero and set
	// Timeout. Default: a pooled client of its own.
	HTTPClient *http.Client
	// Timeout bounds each attempt, from the moment it has a slot until its
	// response is read. Default scimclient.DefaultTimeout.
	Timeout time.Duration
	// Capture, if set, receives every attempt's exchange (secrets
	// redacted).
	Capture func(scimclient.Exchange)
}

// Target is a SCIM app a job writes to. It is safe for concurrent use.
type Target struct {
	o      Options
	client *scimclient.Client
	// test sends Test's one request without retries.
	test *scimclient.Client
}

// New returns a Target for the options.
func New(o Options) (*Target, error) {
	switch {
	case o.MembersPerPatch < 0:
		return nil, fmt.Errorf("target: MembersPerPatch %d is negative", o.MembersPerPatch)
	case o.Concurrency < 0:
		return nil, fmt.Errorf("target: Concurrency %d is negative", o.Concurrency)
	case o.RequestsPerSecond < 0:
		return nil, fmt.Errorf("target: RequestsPerSecond %g is negative", o.RequestsPerSecond)
	case o.Token != "" && o.TokenSource != nil:
		return nil, errors.New("target: both a Token and a TokenSource")
	}
	if o.MembersPerPatch == 0 {
		o.MembersPerPatch = job.DefaultMembersPerPatch
	}
	if o.Concurrency == 0 {
		o.Concurrency = job.DefaultConcurrency
	}
	if o.Timeout <= 0 {
		o.Timeout = scimclient.DefaultTimeout
	}
	if o.Dialect.Name == "" {
		o.Dialect = scimclient.RFC
	}
	g := &gate{sem: make(chan struct{}, o.Concurrency), timeout: o.Timeout}
	if o.RequestsPerSecond > 0 {
		// A burst of one: the rate is a bound on every second, as the
		// targets' published limits are (ENGINE-NOTES §6).
		g.limiter = rate.NewLimiter(rate.Limit(o.RequestsPerSecond), 1)
	}
	var hc http.Client
	if o.HTTPClient != nil {
		hc = *o.HTTPClient
		g.next = hc.Transport
	}
	if g.next == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = max(o.Concurrency, 2)
		tr.MaxIdleConns = max(tr.MaxIdleConns, o.Concurrency)
		g.next = tr
	}
	// The gate bounds each attempt from the moment it has a slot; a client
	// timeout would count the wait for a slot as well.
	hc.Transport = g
	co := scimclient.Options{
		Token: o.Token, TokenSource: o.TokenSource, HTTPClient: &hc,
		Dialect: o.Dialect, Capture: o.Capture,
	}
	c, err := scimclient.New(o.URL, co)
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	co.Retry = scimclient.NoRetry
	tc, err := scimclient.New(o.URL, co)
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	return &Target{o: o, client: c, test: tc}, nil
}

// Describe says in one line which app the target is, for logs: the Tenant
// URL without credentials (user info and secret-looking query parameters
// are redacted) and the dialect.
func (t *Target) Describe() string {
	return fmt.Sprintf("SCIM app %s (dialect %s)", redactURL(t.client.URL()), t.client.Dialect().Name)
}

// redactURL hides a URL's password and the values of query parameters
// whose names look like credentials.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	if u.User != nil {
		u.User = url.User(scimclient.Redacted)
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			if scimclient.Sensitive(k) || k == "code" || k == "key" {
				q[k] = []string{scimclient.Redacted}
			}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// gate is the transport that bounds every attempt: one of Concurrency
// slots, then a token of the rate limiter, both given up when the
// request's context ends. The slot is held, and Timeout runs, until the
// response body is closed.
type gate struct {
	next    http.RoundTripper
	sem     chan struct{}
	limiter *rate.Limiter
	timeout time.Duration
}

// RoundTrip waits for a slot and the rate, then sends the request.
func (g *gate) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	select {
	case g.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for a request slot: %w", ctx.Err())
	}
	if g.limiter != nil {
		if err := g.limiter.Wait(ctx); err != nil {
			<-g.sem
			if ctx.Err() == nil {
				// The limiter refuses at once a wait that would outlive the
				// deadline; it is the deadline all the same.
				err = fmt.Errorf("%w (%v)", context.DeadlineExceeded, err)
			}
			return nil, fmt.Errorf("waiting for the request rate: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	res, err := g.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		<-g.sem
		return nil, err
	}
	res.Body = &releaseBody{ReadCloser: res.Body, release: sync.OnceFunc(func() {
		cancel()
		<-g.sem
	})}
	return res, nil
}

// releaseBody gives back a gate's slot when the body is closed.
type releaseBody struct {
	io.ReadCloser
	release func()
}

func (b *releaseBody) Close() error {
	err := b.ReadCloser.Close()
	b.release()
	return err
}

// decode turns a resource's JSON into a map.
func decode(raw []byte) (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("decode resource: %w", err)
	}
	return m, nil
}

// Find returns the resources of an endpoint matching a SCIM filter
// (RFC 7644 §3.4.2.2), such as `userName eq "ann@example.com"`: the one
// page the app returns, which for a matching query holds zero or one.
func (t *Target) Find(ctx context.Context, ep scimclient.Endpoint, filter string) ([]map[string]any, error) {
	lr, err := t.client.List(ctx, ep, scimclient.ListOptions{Filter: filter})
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, 0, len(lr.Resources))
	for _, r := range lr.Resources {
		m, err := decode(r)
		if err != nil {
			return nil, fmt.Errorf("GET %s?filter=%s: %w", ep, filter, err)
		}
		out = append(out, m)
	}
	return out, nil
}

// Get reads a resource by id. A missing one is an error for which
// scimclient.IsNotFound is true.
func (t *Target) Get(ctx context.Context, ep scimclient.Endpoint, id string) (map[string]any, error) {
	r, err := t.client.Get(ctx, ep, id, scimclient.Attributes{})
	if err != nil {
		return nil, err
	}
	return decode(r.Raw)
}

// Create POSTs a resource and returns the id the app gave it; the rest of
// the answer is not decoded, since the engine reads the object again when
// it next needs it. A POST that gets no answer is not retried (see the
// package doc).
func (t *Target) Create(ctx context.Context, ep scimclient.Endpoint, body map[string]any) (string, error) {
	r, err := t.client.Create(ctx, ep, body)
	if err != nil {
		return "", err
	}
	return r.ID, nil
}

// Update changes a resource: a PUT of desired, the whole resource, when
// UpdateWithPUT is set, and otherwise a PATCH of ops in the dialect's shape.
// A PATCH without ops sends nothing.
func (t *Target) Update(ctx context.Context, ep scimclient.Endpoint, id string, desired map[string]any, ops []scimclient.Op) error {
	if t.o.UpdateWithPUT {
		_, err := t.client.Put(ctx, ep, id, desired)
		return err
	}
	if len(ops) == 0 {
		return nil
	}
	_, err := t.client.Patch(ctx, ep, id, ops...)
	return err
}

// Delete deletes a resource; one already gone (404) counts as deleted.
func (t *Target) Delete(ctx context.Context, ep scimclient.Endpoint, id string) error {
	err := t.client.Delete(ctx, ep, id)
	if scimclient.IsNotFound(err) {
		return nil
	}
	return err
}

// AddMembers adds users or groups to a group, MembersPerPatch to a PATCH.
func (t *Target) AddMembers(ctx context.Context, groupID string, ids []string) error {
	return t.members(ctx, groupID, ids, scimclient.AddMembers)
}

// RemoveMembers removes members from a group, MembersPerPatch to a PATCH.
func (t *Target) RemoveMembers(ctx context.Context, groupID string, ids []string) error {
	return t.members(ctx, groupID, ids, scimclient.RemoveMembers)
}

func (t *Target) members(ctx context.Context, groupID string, ids []string, op func(...string) scimclient.Op) error {
	for start := 0; start < len(ids); start += t.o.MembersPerPatch {
		chunk := ids[start:min(start+t.o.MembersPerPatch, len(ids))]
		if _, err := t.client.Patch(ctx, scimclient.Groups, groupID, op(chunk...)); err != nil {
			return fmt.Errorf("members %d–%d of %d: %w", start+1, start+len(chunk), len(ids), err)
		}
	}
	return nil
}

// MemberIDs returns the ids of a group's members, read with
// GET /Groups/{id}?attributes=members.
func (t *Target) MemberIDs(ctx context.Context, groupID string) ([]string, error) {
	r, err := t.client.Get(ctx, scimclient.Groups, groupID, scimclient.Attributes{Attributes: []string{"members"}})
	if err != nil {
		return nil, err
	}
	var g struct {
		Members []struct {
			Value string `json:"value"`
		} `json:"members"`
	}
	if err := json.Unmarshal(r.Raw, &g); err != nil {
		return nil, fmt.Errorf("decode members of group %s: %w", groupID, err)
	}
	ids := make([]string, 0, len(g.Members))
	for _, m := range g.Members {
		if m.Value != "" {
			ids = append(ids, m.Value)
		}
	}
	return ids, nil
}

// Each pages through every resource of an endpoint by startIndex and count
// (the dialect's page size, default 100) and calls fn with each, keeping
// one page in memory. Paging stops at an empty or short page or past
// totalResults (scimclient.Client.Walk). attributes, if any, select what
// the app returns. An error of fn stops the walk and is returned.
func (t *Target) Each(ctx context.Context, ep scimclient.Endpoint, attributes []string, fn func(map[string]any) error) error {
	o := scimclient.ListOptions{Attributes: scimclient.Attributes{Attributes: attributes}}
	return t.client.Walk(ctx, ep, o, func(raw json.RawMessage) error {
		m, err := decode(raw)
		if err != nil {
			return fmt.Errorf("GET %s: %w", ep, err)
		}
		return fn(m)
	})
}
