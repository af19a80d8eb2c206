package scimsource

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/rosterhq/roster/internal/provision/source"
	"github.com/rosterhq/roster/internal/scimclient"
)

// Defaults of Options.
const (
	DefaultOverlap     = 2 * time.Second
	DefaultMaxSeen     = 10000
	DefaultTestTimeout = 15 * time.Second
)

// Options configure a Source.
type Options struct {
	// Token is the bearer token sent to the server.
	Token string
	// PageSize is the count asked for per page of a listing. Default: the
	// dialect's page size (100).
	PageSize int
	// Dialect is the identity-provider dialect of the client; it matters
	// little for reads. Default: RFC.
	Dialect scimclient.Dialect
	// Overlap is how far before the last modification time seen a delta
	// reads again, to catch changes committed out of time order (see the
	// package documentation). Default 2s.
	Overlap time.Duration
	// MaxSeen bounds how many (id, version) pairs a watermark remembers for
	// de-duplication; past it the oldest are forgotten and may be reported
	// again, never lost. Default 10,000.
	MaxSeen int
	// Timeout bounds each HTTP attempt. Default: scimclient's (30s).
	Timeout time.Duration
	// TestTimeout bounds the whole of Test. Default 15s.
	TestTimeout time.Duration
	// HTTPClient, if set, sends the requests (custom TLS roots, proxies).
	HTTPClient *http.Client
}

// Source reads users and groups from a SCIM 2.0 server. It implements
// source.Source, source.FullLister, source.DeltaLister and
// source.GroupExpander, and is safe for concurrent use.
type Source struct {
	client *scimclient.Client
	// test sends Test's one request without retries, so that a refused
	// connection or a 5xx is reported at once rather than after backoff.
	test *scimclient.Client
	o    Options

	mu     sync.Mutex
	probed bool
	// filters is false only when the server's ServiceProviderConfig says
	// filter.supported is false.
	filters bool
}

var (
	_ source.Source        = (*Source)(nil)
	_ source.FullLister    = (*Source)(nil)
	_ source.DeltaLister   = (*Source)(nil)
	_ source.GroupExpander = (*Source)(nil)
)

// New returns a source reading the SCIM server at tenantURL, e.g.
// https://host/scim/v2/default. It sends nothing; Test checks the
// configuration.
func New(tenantURL string, o Options) (*Source, error) {
	if o.Overlap <= 0 {
		o.Overlap = DefaultOverlap
	}
	if o.MaxSeen <= 0 {
		o.MaxSeen = DefaultMaxSeen
	}
	if o.TestTimeout <= 0 {
		o.TestTimeout = DefaultTestTimeout
	}
	co := scimclient.Options{Token: o.Token, Dialect: o.Dialect, Timeout: o.Timeout, HTTPClient: o.HTTPClient}
	c, err := scimclient.New(tenantURL, co)
	if err != nil {
		return nil, fmt.Errorf("scim source: %w", err)
	}
	co.Retry = scimclient.NoRetry
	tc, err := scimclient.New(tenantURL, co)
	if err != nil {
		return nil, fmt.Errorf("scim source: %w", err)
	}
	if o.PageSize <= 0 {
		o.PageSize = c.Dialect().PageSize
	}
	return &Source{client: c, test: tc, o: o, filters: true}, nil
}

// Kind returns "scim".
func (s *Source) Kind() string { return "scim" }

// Describe names the server and dialect; the token is never shown.
func (s *Source) Describe() string {
	return fmt.Sprintf("SCIM server %s (dialect %s)", s.client.URL(), s.client.Dialect().Name)
}

// endpoint returns the SCIM endpoint of a kind.
func endpoint(kind source.Kind) (scimclient.Endpoint, error) {
	switch kind {
	case source.User:
		return scimclient.Users, nil
	case source.Group:
		return scimclient.Groups, nil
	}
	return "", fmt.Errorf("scim source: unknown object kind %q", kind)
}

// List streams every user or group (source.FullLister). Groups are listed
// with excludedAttributes=members and each group's members are then read by
// a GET of that group alone, so that memory holds one page of groups and
// one group's members, never every membership at once. A group deleted
// between its listing and that read is skipped: it no longer exists.
func (s *Source) List(ctx context.Context, kind source.Kind, fn func(source.Object) error) error {
	return s.walk(ctx, kind, "", nil, fn)
}

// walk pages through an endpoint with an optional filter and decodes each
// resource; those keep accepts (all, if keep is nil) get a group's members
// read and are passed to fn. keep runs first so that a delta does not read
// the members of a group it will not report.
func (s *Source) walk(ctx context.Context, kind source.Kind, filter string, keep func(string, meta) bool, fn func(source.Object) error) error {
	ep, err := endpoint(kind)
	if err != nil {
		return err
	}
	lo := scimclient.ListOptions{Filter: filter, Count: s.o.PageSize}
	if kind == source.Group {
		lo.ExcludedAttributes = []string{"members"}
	}
	var fnErr error
	err = s.client.Walk(ctx, ep, lo, func(raw json.RawMessage) error {
		o, m, err := decode(kind, raw)
		if err != nil {
			return fmt.Errorf("%s: %w", ep, err)
		}
		if keep != nil && !keep(o.Anchor, m) {
			return nil
		}
		if kind == source.Group {
			members, err := s.members(ctx, o.Anchor)
			if errors.Is(err, source.ErrNotFound) {
				return nil
			}
			if err != nil {
				return err
			}
			o.Members = members
		}
		if err := fn(o); err != nil {
			fnErr = err
			return err
		}
		return nil
	})
	if fnErr != nil {
		// The caller's own error comes back as it was (the contract).
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("scim source: list %s of %s: %w", ep, s.client.URL(), err)
	}
	return nil
}

// Get reads one user or group by its id (source.Getter), a group with its
// members.
func (s *Source) Get(ctx context.Context, kind source.Kind, anchor string) (source.Object, error) {
	ep, err := endpoint(kind)
	if err != nil {
		return source.Object{}, err
	}
	a := scimclient.Attributes{}
	if kind == source.Group {
		a.ExcludedAttributes = []string{"members"}
	}
	r, err := s.client.Get(ctx, ep, anchor, a)
	if scimclient.IsNotFound(err) {
		return source.Object{}, fmt.Errorf("scim source: %s %s: %w", kind, anchor, source.ErrNotFound)
	}
	if err != nil {
		return source.Object{}, fmt.Errorf("scim source: read %s %s: %w", kind, anchor, err)
	}
	o, _, err := decode(kind, r.Raw)
	if err != nil {
		return source.Object{}, fmt.Errorf("scim source: %s %s: %w", kind, anchor, err)
	}
	if kind == source.Group {
		if o.Members, err = s.members(ctx, anchor); err != nil {
			return source.Object{}, fmt.Errorf("scim source: members of group %s: %w", anchor, err)
		}
	}
	return o, nil
}

// Members streams the members of one group (source.GroupExpander). SCIM
// has no paging of a group's members, so the group's member list is read
// in one response (bounded by scimclient's MaxResponseBytes) and then
// handed out one by one.
func (s *Source) Members(ctx context.Context, group string, fn func(source.Member) error) error {
	members, err := s.members(ctx, group)
	if err != nil {
		return fmt.Errorf("scim source: members of group %s: %w", group, err)
	}
	for _, m := range members {
		if err := fn(m); err != nil {
			return err
		}
	}
	return nil
}

// members reads one group's members with attributes=members.
func (s *Source) members(ctx context.Context, group string) ([]source.Member, error) {
	r, err := s.client.Get(ctx, scimclient.Groups, group, scimclient.Attributes{Attributes: []string{"members"}})
	if scimclient.IsNotFound(err) {
		return nil, fmt.Errorf("group %s: %w", group, source.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	var doc struct {
		Members []struct {
			Value string `json:"value"`
			Type  string `json:"type"`
		} `json:"members"`
	}
	if err := json.Unmarshal(r.Raw, &doc); err != nil {
		return nil, fmt.Errorf("decode members of group %s: %w", group, err)
	}
	out := make([]source.Member, 0, len(doc.Members))
	for _, m := range doc.Members {
		if m.Value == "" {
			continue
		}
		out = append(out, source.Member{Anchor: m.Value, Kind: memberKind(m.Type)})
	}
	return out, nil
}

// memberKind maps a member's SCIM type to a kind; SCIM leaves type
// optional, and its values are compared without case.
func memberKind(t string) source.Kind {
	switch {
	case strings.EqualFold(t, "User"):
		return source.User
	case strings.EqualFold(t, "Group"):
		return source.Group
	}
	return ""
}

// meta is what a delta needs of a resource's meta.
type meta struct {
	Version      string
	LastModified string
}

// skipped are the top-level keys that are not attributes: the anchor, the
// schemas, the server's meta and, for groups, the members, which Object
// carries apart.
var skipped = map[string]bool{"id": true, "schemas": true, "meta": true, "members": true}

// decode turns a SCIM resource into an Object. Numbers stay json.Number so
// that large integers keep their digits. A JSON null or empty array is a
// null attribute (RFC 7643 §2.5 calls both unassigned).
func decode(kind source.Kind, raw json.RawMessage) (source.Object, meta, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var doc map[string]any
	if err := d.Decode(&doc); err != nil {
		return source.Object{}, meta{}, fmt.Errorf("decode resource: %w", err)
	}
	id, _ := doc["id"].(string)
	if id == "" {
		return source.Object{}, meta{}, errors.New("a resource without an id (RFC 7643 §3.1)")
	}
	var m meta
	if mm, ok := doc["meta"].(map[string]any); ok {
		m.Version, _ = mm["version"].(string)
		m.LastModified, _ = mm["lastModified"].(string)
	}
	o := source.Object{Anchor: id, Kind: kind, Version: m.Version, Attributes: make(map[string]source.Values, len(doc))}
	for k, v := range doc {
		if skipped[k] {
			continue
		}
		o.Attributes[k] = source.ValuesOf(v)
	}
	return o, m, nil
}
