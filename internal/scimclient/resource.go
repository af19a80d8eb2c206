package scimclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Endpoint is a resource endpoint under the Tenant URL.
type Endpoint string

// The resource endpoints of RFC 7644 §3.2.
const (
	Users  Endpoint = "/Users"
	Groups Endpoint = "/Groups"
)

// Resource is a returned resource: the fields a client acts on, decoded,
// and the whole body.
type Resource struct {
	ID         string `json:"id"`
	ExternalID string `json:"externalId,omitempty"`
	Meta       struct {
		ResourceType string `json:"resourceType,omitempty"`
		Location     string `json:"location,omitempty"`
		Version      string `json:"version,omitempty"`
	} `json:"meta"`
	// Raw is the resource's JSON.
	Raw json.RawMessage `json:"-"`
}

// decodeResource decodes a resource body; it must have an id.
func decodeResource(b []byte) (*Resource, error) {
	var r Resource
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decode resource: %w", err)
	}
	if r.ID == "" {
		return nil, errNoID
	}
	r.Raw = b
	return &r, nil
}

// Attributes selects what a read returns (RFC 7644 §3.4.2.5).
type Attributes struct {
	Attributes         []string
	ExcludedAttributes []string
}

func (a Attributes) set(q url.Values) {
	if len(a.Attributes) > 0 {
		q.Set("attributes", strings.Join(a.Attributes, ","))
	}
	if len(a.ExcludedAttributes) > 0 {
		q.Set("excludedAttributes", strings.Join(a.ExcludedAttributes, ","))
	}
}

// projection applies the dialect's default projection to a read.
func (c *Client) projection(ep Endpoint, a Attributes) Attributes {
	if ep == Groups && c.dialect.ExcludeGroupMembers && len(a.Attributes) == 0 && len(a.ExcludedAttributes) == 0 {
		a.ExcludedAttributes = []string{"members"}
	}
	return a
}

func withQuery(path string, q url.Values) string {
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// Create POSTs a resource (RFC 7644 §3.3). body is []byte or a value
// encoded as JSON. A POST is not retried on 5xx or timeouts by default.
func (c *Client) Create(ctx context.Context, ep Endpoint, body any) (*Resource, error) {
	res, err := c.send(ctx, Request{Method: http.MethodPost, Path: string(ep), Body: body})
	if err != nil {
		return nil, err
	}
	r, err := decodeResource(res.Body)
	if err != nil {
		return nil, fmt.Errorf("POST %s: %w", ep, err)
	}
	return r, nil
}

// Get reads a resource by id (RFC 7644 §3.4.1). A missing resource is an
// error for which IsNotFound is true.
func (c *Client) Get(ctx context.Context, ep Endpoint, id string, a Attributes) (*Resource, error) {
	q := url.Values{}
	c.projection(ep, a).set(q)
	path := withQuery(string(ep)+"/"+url.PathEscape(id), q)
	res, err := c.send(ctx, Request{Method: http.MethodGet, Path: path})
	if err != nil {
		return nil, err
	}
	r, err := decodeResource(res.Body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	return r, nil
}

// Put replaces a resource with PUT (RFC 7644 §3.5.1).
func (c *Client) Put(ctx context.Context, ep Endpoint, id string, body any) (*Resource, error) {
	path := string(ep) + "/" + url.PathEscape(id)
	res, err := c.send(ctx, Request{Method: http.MethodPut, Path: path, Body: body})
	if err != nil {
		return nil, err
	}
	r, err := decodeResource(res.Body)
	if err != nil {
		return nil, fmt.Errorf("PUT %s: %w", path, err)
	}
	return r, nil
}

// Patch modifies a resource with ops shaped by the dialect (RFC 7644
// §3.5.2). The resource is nil when the server answered 204.
func (c *Client) Patch(ctx context.Context, ep Endpoint, id string, ops ...Op) (*Resource, error) {
	body, err := c.dialect.PatchBody(ops...)
	if err != nil {
		return nil, err
	}
	path := string(ep) + "/" + url.PathEscape(id)
	res, err := c.send(ctx, Request{Method: http.MethodPatch, Path: path, Body: body})
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(res.Body)) == 0 {
		return nil, nil
	}
	r, err := decodeResource(res.Body)
	if err != nil {
		return nil, fmt.Errorf("PATCH %s: %w", path, err)
	}
	return r, nil
}

// Update changes a resource the way the dialect does: a PUT of desired,
// the whole resource, for Okta; a PATCH of ops otherwise. The caller gives
// both, since it knows the target state and the change.
func (c *Client) Update(ctx context.Context, ep Endpoint, id string, desired any, ops ...Op) (*Resource, error) {
	if c.dialect.UpdateWithPUT {
		return c.Put(ctx, ep, id, desired)
	}
	return c.Patch(ctx, ep, id, ops...)
}

// Delete deletes a resource (RFC 7644 §3.6).
func (c *Client) Delete(ctx context.Context, ep Endpoint, id string) error {
	_, err := c.send(ctx, Request{Method: http.MethodDelete, Path: string(ep) + "/" + url.PathEscape(id)})
	return err
}

// ListOptions are the query parameters of a list (RFC 7644 §3.4.2).
type ListOptions struct {
	Filter string
	Attributes
	SortBy    string
	SortOrder string
	// StartIndex is 1-based; 0 leaves it to the server (or 1 when paging).
	StartIndex int
	// Count is the page size; 0 leaves it to the server, or to the
	// dialect's PageSize when paging or when the dialect pages every list.
	Count int
}

// ListResponse is one page of a list (RFC 7644 §3.4.2). TotalResults and
// ItemsPerPage are nil when the server left them out.
type ListResponse struct {
	TotalResults *int              `json:"totalResults"`
	StartIndex   *int              `json:"startIndex"`
	ItemsPerPage *int              `json:"itemsPerPage"`
	Resources    []json.RawMessage `json:"Resources"`
}

// DecodeListResponse decodes a ListResponse body.
func DecodeListResponse(b []byte) (*ListResponse, error) {
	var lr ListResponse
	if err := json.Unmarshal(b, &lr); err != nil {
		return nil, fmt.Errorf("decode ListResponse: %w", err)
	}
	if lr.Resources == nil {
		// Attribute names are case-insensitive (RFC 7643 §2.1), and some
		// servers write "resources".
		var alt struct {
			Resources []json.RawMessage `json:"resources"`
		}
		if json.Unmarshal(b, &alt) == nil {
			lr.Resources = alt.Resources
		}
	}
	return &lr, nil
}

// List reads one page.
func (c *Client) List(ctx context.Context, ep Endpoint, o ListOptions) (*ListResponse, error) {
	if c.dialect.PageEveryList {
		o.StartIndex = max(o.StartIndex, 1)
		if o.Count == 0 {
			o.Count = c.dialect.pageSize()
		}
	}
	q := url.Values{}
	if o.Filter != "" {
		q.Set("filter", o.Filter)
	}
	c.projection(ep, o.Attributes).set(q)
	if o.SortBy != "" {
		q.Set("sortBy", o.SortBy)
	}
	if o.SortOrder != "" {
		q.Set("sortOrder", o.SortOrder)
	}
	if o.StartIndex > 0 {
		q.Set("startIndex", strconv.Itoa(o.StartIndex))
	}
	if o.Count > 0 {
		q.Set("count", strconv.Itoa(o.Count))
	}
	path := withQuery(string(ep), q)
	res, err := c.send(ctx, Request{Method: http.MethodGet, Path: path})
	if err != nil {
		return nil, err
	}
	lr, err := DecodeListResponse(res.Body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	return lr, nil
}

// SearchURN is the schema of a POST /.search body (RFC 7644 §3.4.3).
const SearchURN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"

// Search reads one page with POST {endpoint}/.search (RFC 7644 §3.4.3),
// which keeps the filter out of URLs and logs. It is a POST, so by default
// it is retried on a 429 but not on 5xx or timeouts.
func (c *Client) Search(ctx context.Context, ep Endpoint, o ListOptions) (*ListResponse, error) {
	a := c.projection(ep, o.Attributes)
	body := struct {
		Schemas            []string `json:"schemas"`
		Filter             string   `json:"filter,omitempty"`
		Attributes         []string `json:"attributes,omitempty"`
		ExcludedAttributes []string `json:"excludedAttributes,omitempty"`
		SortBy             string   `json:"sortBy,omitempty"`
		SortOrder          string   `json:"sortOrder,omitempty"`
		StartIndex         int      `json:"startIndex,omitempty"`
		Count              int      `json:"count,omitempty"`
	}{[]string{SearchURN}, o.Filter, a.Attributes, a.ExcludedAttributes, o.SortBy, o.SortOrder, o.StartIndex, o.Count}
	path := string(ep) + "/.search"
	res, err := c.send(ctx, Request{Method: http.MethodPost, Path: path, Body: body})
	if err != nil {
		return nil, err
	}
	lr, err := DecodeListResponse(res.Body)
	if err != nil {
		return nil, fmt.Errorf("POST %s: %w", path, err)
	}
	return lr, nil
}

// ErrPagingStuck reports a server that returned the same page for a later
// startIndex, which would make paging loop forever.
var ErrPagingStuck = errors.New("the server returned the same page again; does it ignore startIndex?")

// Walk pages through a list by startIndex and count (RFC 7644 §3.4.2.4)
// and calls fn with each resource. It advances by the resources a page
// actually held, not by the count asked for, so a server that returns
// short pages, or caps count below what was asked, loses nothing. It stops
// at an empty page, and otherwise:
//
//   - with totalResults, once startIndex passes the latest total, as the
//     total may change while it pages;
//   - without totalResults but with itemsPerPage, at a page holding fewer
//     resources than the server's page size: the count asked for, lowered to
//     the largest itemsPerPage seen, so that a server that caps count is
//     paged on;
//   - with neither, only at an empty page, as a short page may be a capped
//     one.
//
// A server that ignores startIndex is caught when a page starts with the
// same resource as the one before (ErrPagingStuck). An error of fn stops
// the walk and is returned.
func (c *Client) Walk(ctx context.Context, ep Endpoint, o ListOptions, fn func(json.RawMessage) error) error {
	o.StartIndex = max(o.StartIndex, 1)
	if o.Count <= 0 {
		o.Count = c.dialect.pageSize()
	}
	var prevFirst json.RawMessage
	// pageSize is the largest itemsPerPage the server has reported.
	pageSize := 0
	for {
		page, err := c.List(ctx, ep, o)
		if err != nil {
			return err
		}
		n := len(page.Resources)
		if n == 0 {
			return nil
		}
		if prevFirst != nil && bytes.Equal(prevFirst, page.Resources[0]) {
			return fmt.Errorf("GET %s at startIndex %d: %w", ep, o.StartIndex, ErrPagingStuck)
		}
		prevFirst = page.Resources[0]
		for _, r := range page.Resources {
			if err := fn(r); err != nil {
				return err
			}
		}
		o.StartIndex += n
		switch {
		case page.TotalResults != nil:
			if o.StartIndex > *page.TotalResults {
				return nil
			}
		case page.ItemsPerPage != nil:
			pageSize = max(pageSize, *page.ItemsPerPage)
			if n < min(pageSize, o.Count) {
				return nil
			}
		}
	}
}

// errStop ends a Walk early when an All loop breaks.
var errStop = errors.New("stop")

// All returns an iterator over every resource of a list, paging as Walk
// does. An error is yielded once, last.
func (c *Client) All(ctx context.Context, ep Endpoint, o ListOptions) iter.Seq2[json.RawMessage, error] {
	return func(yield func(json.RawMessage, error) bool) {
		err := c.Walk(ctx, ep, o, func(r json.RawMessage) error {
			if !yield(r, nil) {
				return errStop
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			yield(nil, err)
		}
	}
}
