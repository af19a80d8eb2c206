package scimhttp

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/directory"
	"github.com/rosterhq/roster/internal/scim/filter"
	"github.com/rosterhq/roster/internal/scim/patch"
	"github.com/rosterhq/roster/internal/scim/resource"
	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/scim/scimerr"
	"github.com/rosterhq/roster/internal/scim/strictjson"
	"github.com/rosterhq/roster/internal/store"
)

// resources serves /Users and /Groups and the resources under them.
func (h *Handler) resources(w http.ResponseWriter, r *request, rt *schema.ResourceType, segs []string) error {
	switch len(segs) {
	case 0:
		switch r.Method {
		case http.MethodGet:
			return h.list(w, r, rt)
		case http.MethodPost:
			return h.create(w, r, rt)
		}
		return methodNotAllowed(w, "GET, POST")
	case 1:
		if segs[0] == ".search" {
			if r.Method != http.MethodPost {
				return methodNotAllowed(w, "POST")
			}
			return h.search(w, r, rt)
		}
		id := segs[0]
		switch r.Method {
		case http.MethodGet:
			return h.get(w, r, rt, id)
		case http.MethodPut:
			return h.replace(w, r, rt, id)
		case http.MethodPatch:
			return h.patch(w, r, rt, id)
		case http.MethodDelete:
			if err := h.dir.Delete(r.Context(), r.tenant.ID, rt, id, r.Header.Get("If-Match")); err != nil {
				return err
			}
			w.WriteHeader(http.StatusNoContent)
			return nil
		}
		return methodNotAllowed(w, "GET, PUT, PATCH, DELETE")
	}
	return scimerr.NotFound("no SCIM endpoint at %s", r.URL.Path)
}

// projection reads the attributes and excludedAttributes query parameters.
func projection(r *request, rt *schema.ResourceType) (resource.Projection, error) {
	q := r.URL.Query()
	return resource.NewProjection(rt, splitList(q["attributes"]), splitList(q["excludedAttributes"]))
}

func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

func (h *Handler) get(w http.ResponseWriter, r *request, rt *schema.ResourceType, id string) error {
	proj, err := projection(r, rt)
	if err != nil {
		return err
	}
	res, err := h.dir.Get(r.Context(), r.tenant.ID, rt, id)
	if err != nil {
		return err
	}
	etag := resource.ETag(res.Version)
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, res.Version) {
		w.Header().Set("ETag", etag)
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	return h.writeResource(w, r, res, proj)
}

func etagMatches(header string, version int64) bool {
	for _, t := range strings.Split(header, ",") {
		if strings.TrimSpace(t) == "*" {
			return true
		}
		if v, ok := resource.ParseETag(t); ok && v == version {
			return true
		}
	}
	return false
}

// resourceBody reads and decodes a resource request body and the response
// projection, the first steps of POST and PUT.
func resourceBody(r *request, rt *schema.ResourceType) (map[string]any, resource.Projection, error) {
	body, err := readBody(r.Request, MaxPayloadSize)
	if err != nil {
		return nil, resource.Projection{}, err
	}
	doc, err := resource.Decode(body)
	if err != nil {
		return nil, resource.Projection{}, err
	}
	proj, err := projection(r, rt)
	return doc, proj, err
}

func (h *Handler) create(w http.ResponseWriter, r *request, rt *schema.ResourceType) error {
	doc, proj, err := resourceBody(r, rt)
	if err != nil {
		return err
	}
	res, err := h.dir.Create(r.Context(), r.tenant.ID, rt, doc)
	if err != nil {
		return err
	}
	w.Header().Set("Location", h.location(r, rt, res.ID))
	// A resource just created belongs to no group yet: skip that query.
	return h.writeCommitted(w, r, res.Resource, proj.Without("groups"), http.StatusCreated)
}

func (h *Handler) replace(w http.ResponseWriter, r *request, rt *schema.ResourceType, id string) error {
	doc, proj, err := resourceBody(r, rt)
	if err != nil {
		return err
	}
	res, err := h.dir.Replace(r.Context(), r.tenant.ID, rt, id, r.Header.Get("If-Match"), doc)
	if err != nil {
		return err
	}
	return h.writeCommitted(w, r, res.Resource, proj, http.StatusOK)
}

// patch applies a PatchOp. Users are answered with 200 and the resource;
// groups with 204 and no body, as Microsoft recommends, unless the client
// asks for attributes, because a group's member list can be huge.
func (h *Handler) patch(w http.ResponseWriter, r *request, rt *schema.ResourceType, id string) error {
	body, err := readBody(r.Request, MaxPayloadSize)
	if err != nil {
		return err
	}
	req, err := patch.ParseRequest(body)
	if err != nil {
		return err
	}
	proj, err := projection(r, rt)
	if err != nil {
		return err
	}
	res, err := h.dir.Patch(r.Context(), r.tenant.ID, rt, id, r.Header.Get("If-Match"), req)
	if err != nil {
		return err
	}
	if rt.Name == schema.GroupResource && r.URL.Query().Get("attributes") == "" {
		w.Header().Set("ETag", resource.ETag(res.Version))
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return h.writeCommitted(w, r, res.Resource, proj, http.StatusOK)
}

func (h *Handler) location(r *request, rt *schema.ResourceType, id string) string {
	return r.baseURL + rt.Endpoint + "/" + id
}

// writeResource answers a read with one resource and its ETag. The status
// line waits for the body's first bytes, so a read that fails while the
// resource renders (the user's groups, a group's first members) is still
// answered with a SCIM error.
func (h *Handler) writeResource(w http.ResponseWriter, r *request, res store.Resource, proj resource.Projection) error {
	w.Header().Set("ETag", resource.ETag(res.Version))
	return h.renderResource(w, r, res, proj, newStream(w, http.StatusOK))
}

// writeCommitted answers a create, replace or patch with the resource it
// wrote. The change has committed before rendering starts, so the success
// status goes out first and stands: answering a failure to read the user's
// groups or the group's members with an error would make the client retry
// a change already made, and Entra and Okta retry a failed POST, which then
// gets 409 for ever. If rendering fails, the body is cut short and the
// failure logged.
func (h *Handler) writeCommitted(w http.ResponseWriter, r *request, res store.Resource, proj resource.Projection, status int) error {
	w.Header().Set("ETag", resource.ETag(res.Version))
	s := newStream(w, status)
	s.start()
	return h.renderResource(w, r, res, proj, s)
}

// renderResource writes one resource through s.
func (h *Handler) renderResource(w http.ResponseWriter, r *request, res store.Resource, proj resource.Projection, s *stream) error {
	s.err = h.dir.WriteResource(r.Context(), s, r.tenant.ID, res, view(r, proj))
	return h.endStream(w, r, s)
}

// endStream flushes what is left of a stream, or, if writing it failed,
// handles the failure: before the status line is sent the error is
// answered as usual; after it, the truncated body tells the client, and
// the log tells the operator.
func (h *Handler) endStream(w http.ResponseWriter, r *request, s *stream) error {
	if s.err == nil {
		s.err = s.Flush()
	}
	if s.err == nil {
		return nil
	}
	if !s.started() {
		w.Header().Del("ETag")
		return s.err
	}
	if !errors.Is(s.err, context.Canceled) { // else the client went away
		h.log.Warn("SCIM-0504 response cut short", "method", r.Method, "path", r.URL.Path, "err", s.err)
	}
	return nil
}

// view is how a request's answer renders resources: with the Tenant URL
// the request came to, and the projection the client asked for.
func view(r *request, proj resource.Projection) directory.View {
	return directory.View{BaseURL: r.baseURL, Projection: proj}
}

// listResponse is the head of a ListResponse, per RFC 7644 §3.4.2.
type listHead struct {
	Schemas      []string `json:"schemas"`
	TotalResults int      `json:"totalResults"`
	StartIndex   int      `json:"startIndex"`
	ItemsPerPage int      `json:"itemsPerPage"`
}

// list answers GET /Users and GET /Groups.
func (h *Handler) list(w http.ResponseWriter, r *request, rt *schema.ResourceType) error {
	q := r.URL.Query()
	p := directory.ListParams{
		Filter: q.Get("filter"), SortBy: q.Get("sortBy"), SortOrder: q.Get("sortOrder"), Count: -1,
	}
	var err error
	if p.StartIndex, err = intParam(q.Get("startIndex"), 1); err != nil {
		return err
	}
	if p.Count, err = intParam(q.Get("count"), -1); err != nil {
		return err
	}
	if p.Count < -1 {
		p.Count = 0 // RFC 7644 §3.4.2.4: a negative count means 0.
	}
	proj, err := projection(r, rt)
	if err != nil {
		return err
	}
	return h.answerList(w, r, []*schema.ResourceType{rt}, p, view(r, proj))
}

func intParam(s string, def int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, scimerr.InvalidValue("%q is not an integer", s)
	}
	return n, nil
}

// searchRequest is the body of POST /.search, per RFC 7644 §3.4.3.
type searchRequest struct {
	Schemas            []string `json:"schemas"`
	Attributes         []string `json:"attributes"`
	ExcludedAttributes []string `json:"excludedAttributes"`
	Filter             string   `json:"filter"`
	SortBy             string   `json:"sortBy"`
	SortOrder          string   `json:"sortOrder"`
	StartIndex         *int     `json:"startIndex"`
	Count              *int     `json:"count"`
}

// search answers POST /.search on a resource endpoint (rt) or on the root
// (rt nil: every resource type).
func (h *Handler) search(w http.ResponseWriter, r *request, rt *schema.ResourceType) error {
	body, err := readBody(r.Request, MaxPayloadSize)
	if err != nil {
		return err
	}
	var sr searchRequest
	if err := strictjson.Check(body); err != nil {
		return err
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	if err := dec.Decode(&sr); err != nil {
		return scimerr.InvalidSyntax("search request is not valid JSON: %v", err)
	}
	if len(sr.Schemas) > 0 && !containsFold(sr.Schemas, schema.SearchRequestURN) {
		return scimerr.InvalidValue(`"schemas" must contain %q`, schema.SearchRequestURN)
	}
	p := directory.ListParams{Filter: sr.Filter, SortBy: sr.SortBy, SortOrder: sr.SortOrder, StartIndex: 1, Count: -1}
	if sr.StartIndex != nil {
		p.StartIndex = *sr.StartIndex
	}
	if sr.Count != nil {
		p.Count = max(*sr.Count, 0)
	}
	types := h.reg.ResourceTypes()
	if rt != nil {
		types = []*schema.ResourceType{rt}
	}
	var proj resource.Projection
	if rt != nil {
		if proj, err = resource.NewProjection(rt, sr.Attributes, sr.ExcludedAttributes); err != nil {
			return err
		}
		return h.answerList(w, r, types, p, view(r, proj))
	}
	v, err := rootView(r, types, sr.Attributes, sr.ExcludedAttributes)
	if err != nil {
		return err
	}
	return h.answerList(w, r, types, p, v)
}

// rootView builds the per-type projections of a search at the server root,
// per RFC 7644 §3.4.3 (its Figure 4 asks for "displayName" and "userName"
// across Users and Groups): each name applies to the types that have it, a
// common or core name such as "displayName" to all of them. A name that no
// type has is invalidValue, as it is on /Users/.search.
func rootView(r *request, types []*schema.ResourceType, attributes, excluded []string) (directory.View, error) {
	v := directory.View{BaseURL: r.baseURL, ByType: make(map[string]resource.Projection, len(types))}
	missingIn := map[string]map[string]bool{} // name → types lacking it
	for _, rt := range types {
		proj, missing, err := resource.NewPartialProjection(rt, attributes, excluded)
		if err != nil {
			return v, err
		}
		v.ByType[rt.Name] = proj
		for _, n := range missing {
			if missingIn[n] == nil {
				missingIn[n] = map[string]bool{}
			}
			missingIn[n][rt.Name] = true
		}
	}
	for _, n := range append(slices.Clone(attributes), excluded...) {
		if n = strings.TrimSpace(n); n != "" && len(missingIn[n]) == len(types) {
			return v, scimerr.InvalidValue("cannot select attribute %q: no resource type has it", n)
		}
	}
	return v, nil
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// answerList runs a query over one or more resource types and writes the
// ListResponse. Across several types (a root search) the pages run through
// the types in order, as one list.
func (h *Handler) answerList(w http.ResponseWriter, r *request, types []*schema.ResourceType, p directory.ListParams, v directory.View) error {
	ctx := r.Context()
	if !indexedLookup(p.Filter) {
		release, ok := h.cfg.ListConcurrent.Acquire(ctx, r.tenant.ID)
		if !ok {
			h.log.Debug("SCIM-0429 tenant has too many lists and searches in flight", "tenant", r.tenant.Name)
			return tooManyRequests(w, time.Second, "this tenant has too many lists and searches in progress")
		}
		defer release()
	}
	type part struct {
		rt  *schema.ResourceType
		res directory.ListResult
	}
	var parts []part
	total := 0
	start := max(p.StartIndex, 1)
	remaining := p.Count
	if remaining < 0 {
		remaining = directory.DefaultPageSize
	}
	remaining = min(remaining, directory.MaxPageSize)
	skip := start - 1
	var firstErr error
	if len(types) == 1 {
		cp := p
		cp.Count = remaining
		res, err := h.dir.List(ctx, r.tenant.ID, types[0], cp)
		if err != nil {
			return err
		}
		total = res.Total
		parts = append(parts, part{types[0], res})
		types = nil
	}
	for _, rt := range types {
		// Count first, then fetch only the slice of this type on the page.
		cp := p
		cp.StartIndex, cp.Count = 1, 0
		res, err := h.dir.List(ctx, r.tenant.ID, rt, cp)
		if err != nil {
			if len(types) > 1 && scimerr.As(err) != nil && scimerr.As(err).ScimType == scimerr.TypeInvalidFilter {
				// A root search filter may name attributes only some types have.
				firstErr = err
				continue
			}
			return err
		}
		n := res.Total
		total += n
		if skip >= n {
			skip -= n
			continue
		}
		if remaining > 0 {
			fp := p
			fp.StartIndex, fp.Count = skip+1, remaining
			if res, err = h.dir.List(ctx, r.tenant.ID, rt, fp); err != nil {
				return err
			}
			res.Total = n
			remaining -= len(res.Resources)
		}
		skip = 0
		parts = append(parts, part{rt, res})
	}
	if firstErr != nil && len(parts) == 0 && total == 0 {
		return firstErr
	}
	var page []store.Resource
	for _, pt := range parts {
		page = append(page, pt.res.Resources...)
	}
	items := len(page)
	s := newStream(w, http.StatusOK)
	b, _ := json.Marshal(listHead{
		Schemas: []string{schema.ListResponseURN}, TotalResults: total,
		StartIndex: start, ItemsPerPage: items,
	})
	s.Write(b[:len(b)-1])
	s.raw(`,"Resources":`)
	if s.err == nil {
		// The groups of every user on the page are read with one query.
		s.err = h.dir.WriteResources(ctx, s, r.tenant.ID, page, v)
	}
	s.raw("}")
	return h.endStream(w, r, s)
}

// indexedLookup reports whether a filter is an equality lookup the store
// answers from an index in a millisecond: "eq" with a string on id,
// userName, externalId or displayName, or on an e-mail's value (Entra's
// emails[type eq "work"].value eq), alone or ANDed with anything, which
// then filters the few rows the index found. Identity providers send one
// before each create, from many threads at once, so these need not queue
// behind a tenant's costly lists; everything else takes a list slot.
func indexedLookup(text string) bool {
	if strings.TrimSpace(text) == "" {
		return false
	}
	e, err := filter.Parse(text)
	return err == nil && indexedExpr(e)
}

func indexedExpr(e filter.Expr) bool {
	switch x := e.(type) {
	case *filter.And:
		return indexedExpr(x.Left) || indexedExpr(x.Right)
	case *filter.Compare:
		if x.Op != filter.Eq || x.Value.Kind != filter.KindString {
			return false
		}
		name, sub := strings.ToLower(x.Path.Name), strings.ToLower(x.Path.Sub)
		switch {
		case sub == "" && (name == "id" || name == "username" || name == "externalid" || name == "displayname"):
			return true
		case name == "emails" && sub == "value":
			return true
		}
	case *filter.ValuePath:
		return strings.EqualFold(x.Path.Name, "emails") && valueEq(x.Filter)
	}
	return false
}

// valueEq reports whether a value path's filter compares the element's
// value for equality with a string.
func valueEq(e filter.Expr) bool {
	switch x := e.(type) {
	case *filter.And:
		return valueEq(x.Left) || valueEq(x.Right)
	case *filter.Compare:
		return x.Op == filter.Eq && x.Value.Kind == filter.KindString && strings.EqualFold(x.Path.Name, "value") && x.Path.Sub == ""
	}
	return false
}
