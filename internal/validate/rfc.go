package validate

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// rfcChecks checks RFC 7643 and RFC 7644: discovery, a schema-driven round
// trip of every writable User attribute, filters, paging, and the optional
// features the endpoint advertises.
func rfcChecks() []Check {
	return []Check{
		{ID: "rfc-service-provider-config", Name: "GET /ServiceProviderConfig has every required field",
			Source: "RFC 7643 §5; RFC 7644 §4", Required: true, Run: rfcSPC},
		{ID: "rfc-resource-types", Name: "GET /ResourceTypes lists User with name, endpoint and schema",
			Source: "RFC 7643 §6; RFC 7644 §4", Required: true, Run: rfcResourceTypes},
		{ID: "rfc-schemas", Name: "GET /Schemas lists the User schema with attribute definitions",
			Source: "RFC 7643 §7; RFC 7644 §4", Required: true, Run: rfcSchemas},
		{ID: "rfc-user-attributes", Name: "Every advertised writable User attribute round-trips (write, read back)",
			Source: "RFC 7643 §2.2, §7; RFC 7644 §3.3", Required: true, Run: rfcUserAttributes},
		{ID: "rfc-group-attributes", Name: "Every advertised writable Group attribute round-trips (write, read back)",
			Source: "RFC 7643 §4.2, §7; RFC 7644 §3.3", Required: true, Run: rfcGroupAttributes},
		{ID: "rfc-filter-eq", Name: "Filter: userName eq", Source: "RFC 7644 §3.4.2.2", Feature: "filter",
			Run: rfcFilter(`userName eq "{alpha}"`, "alpha")},
		{ID: "rfc-filter-co", Name: "Filter: userName co", Source: "RFC 7644 §3.4.2.2", Feature: "filter",
			Run: rfcFilter(`userName co "{run}-rfc-f-alph"`, "alpha")},
		{ID: "rfc-filter-sw", Name: "Filter: userName sw", Source: "RFC 7644 §3.4.2.2", Feature: "filter",
			Run: rfcFilter(`userName sw "{prefix}rfc-f-"`, "alpha", "beta")},
		{ID: "rfc-filter-pr", Name: "Filter: pr (with and)", Source: "RFC 7644 §3.4.2.2", Feature: "filter",
			Run: rfcFilter(`userName sw "{prefix}rfc-f-" and title pr`, "alpha")},
		{ID: "rfc-filter-or", Name: "Filter: or, with grouping", Source: "RFC 7644 §3.4.2.2", Feature: "filter",
			Run: rfcFilter(`(userName eq "{alpha}" or userName eq "{beta}") and userName sw "{prefix}"`, "alpha", "beta")},
		{ID: "rfc-filter-emails", Name: "Filter: emails.value eq (multi-valued)", Source: "RFC 7644 §3.4.2.2", Feature: "filter",
			Run: rfcFilter(`emails.value eq "{betaMail}"`, "beta")},
		{ID: "rfc-filter-value-path", Name: `Filter: emails[type eq "work" and value co ...]`, Source: "RFC 7644 §3.4.2.2", Feature: "filter",
			Run: rfcFilter(`emails[type eq "work" and value co "{run}-alpha"]`, "alpha")},
		{ID: "rfc-paging", Name: "Paging: startIndex, count, totalResults, itemsPerPage", Source: "RFC 7644 §3.4.2.4",
			Required: true, Run: rfcPaging},
		{ID: "rfc-sort", Name: "Sorting: sortBy=userName, ascending and descending", Source: "RFC 7644 §3.4.2.3",
			Feature: "sort", Run: rfcSort},
		{ID: "rfc-etag", Name: "ETags: If-Match with the current version succeeds, a stale one is 412", Source: "RFC 7644 §3.14",
			Feature: "etag", Run: rfcETag},
		{ID: "rfc-bulk", Name: "Bulk: create a user and a group that references it by bulkId", Source: "RFC 7644 §3.7",
			Feature: "bulk", Run: rfcBulk},
		{ID: "rfc-error-not-found", Name: "Unknown id: 404 with the SCIM error schema and status as a string",
			Source: "RFC 7644 §3.12", Required: true, Run: func(ctx context.Context, r *run) error { return wantNotFound(ctx, r, "/Users/"+guid()) }},
		{ID: "rfc-error-invalid-filter", Name: "Malformed filter: 400 invalidFilter", Source: "RFC 7644 §3.4.2.2, §3.12",
			Feature: "filter", Run: rfcInvalidFilter},
	}
}

func rfcSPC(ctx context.Context, r *run) error {
	res, err := r.fetch(ctx, "/ServiceProviderConfig")
	if err != nil {
		return err
	}
	var missing []string
	for _, f := range []string{"patch.supported", "bulk.supported", "bulk.maxOperations", "bulk.maxPayloadSize",
		"filter.supported", "filter.maxResults", "changePassword.supported", "sort.supported", "etag.supported"} {
		v := get(res.JSON, f)
		if _, isBool := v.(bool); strings.HasSuffix(f, ".supported") && !isBool {
			missing = append(missing, f+" (boolean)")
		} else if _, isInt := integer(v); !strings.HasSuffix(f, ".supported") && !isInt {
			missing = append(missing, f+" (integer)")
		}
	}
	if a, ok := res.JSON["authenticationSchemes"].([]any); !ok || len(a) == 0 {
		missing = append(missing, "authenticationSchemes")
	}
	if !slices.Contains(schemas(res.JSON), "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig") {
		missing = append(missing, "schemas [ServiceProviderConfig URN]")
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing or mistyped: %s", strings.Join(missing, ", "))
	}
	r.spc = res.JSON
	return nil
}

// resourceList reads a discovery ListResponse (RFC 7644 §4 allows a plain
// array too, which some servers send).
func resourceList(r *run, ctx context.Context, path string) ([]map[string]any, error) {
	res, err := r.fetch(ctx, path)
	if err != nil {
		return nil, err
	}
	if res.JSON != nil {
		return list(res), nil
	}
	return nil, fmt.Errorf("%s is not a JSON ListResponse", path)
}

func rfcResourceTypes(ctx context.Context, r *run) error {
	types, err := resourceList(r, ctx, "/ResourceTypes")
	if err != nil {
		return err
	}
	var user map[string]any
	for _, t := range types {
		for _, f := range []string{"name", "endpoint", "schema"} {
			if str(t[f]) == "" {
				return fmt.Errorf("resource type %v lacks %s", jsonish(t["id"]), f)
			}
		}
		if t["schema"] == userURN {
			user = t
		}
	}
	if user == nil {
		return fmt.Errorf("no resource type with schema %s", userURN)
	}
	raw, _ := user["schemaExtensions"].([]any)
	for _, e := range raw {
		if s := str(get(e, "schema")); s != "" {
			r.vars["userExtension:"+s] = s
		}
	}
	return nil
}

func rfcSchemas(ctx context.Context, r *run) error {
	list, err := resourceList(r, ctx, "/Schemas")
	if err != nil {
		return err
	}
	found := false
	for _, s := range list {
		id := str(s["id"])
		attrs, ok := s["attributes"].([]any)
		if id == "" || !ok {
			return fmt.Errorf("schema %v lacks id or attributes", jsonish(s["id"]))
		}
		for _, a := range attrs {
			for _, f := range []string{"name", "type"} {
				if str(get(a, f)) == "" {
					return fmt.Errorf("schema %s: an attribute lacks %s", id, f)
				}
			}
			if _, ok := get(a, "multiValued").(bool); !ok {
				return fmt.Errorf("schema %s: attribute %s lacks multiValued", id, jsonish(get(a, "name")))
			}
		}
		found = found || id == userURN
	}
	if !found {
		return fmt.Errorf("no schema %s", userURN)
	}
	return nil
}

// attribute is one attribute definition of /Schemas (RFC 7643 §7).
type attribute struct {
	Name, Type, Mutability string
	MultiValued            bool
	CanonicalValues        []string
	ReferenceTypes         []string
	Sub                    []attribute
}

func parseAttribute(v any) attribute {
	a := attribute{Name: str(get(v, "name")), Type: str(get(v, "type")), Mutability: str(get(v, "mutability"))}
	a.MultiValued, _ = get(v, "multiValued").(bool)
	for _, c := range asList(get(v, "canonicalValues")) {
		a.CanonicalValues = append(a.CanonicalValues, str(c))
	}
	for _, c := range asList(get(v, "referenceTypes")) {
		a.ReferenceTypes = append(a.ReferenceTypes, str(c))
	}
	for _, s := range asList(get(v, "subAttributes")) {
		a.Sub = append(a.Sub, parseAttribute(s))
	}
	return a
}

func asList(v any) []any { l, _ := v.([]any); return l }

// writable reports whether a client can write a and read it back.
func (a attribute) writable() bool {
	switch strings.ToLower(a.Mutability) {
	case "readonly", "writeonly":
		return false
	}
	return true
}

// sample returns a value that fits a simple attribute's type, or false when
// the validator cannot make one (a reference to another resource).
func (a attribute) sample(tag string) (any, bool) {
	if len(a.CanonicalValues) > 0 {
		return a.CanonicalValues[0], true
	}
	switch strings.ToLower(a.Type) {
	case "string":
		return "rv-" + tag, true
	case "boolean":
		return true, true
	case "integer":
		return float64(7), true
	case "decimal":
		return 1.5, true
	case "datetime":
		return "2024-02-03T04:05:06Z", true
	case "binary":
		return "cm9zdGVy", true
	case "reference":
		if len(a.ReferenceTypes) == 0 || slices.Contains(a.ReferenceTypes, "external") || slices.Contains(a.ReferenceTypes, "uri") {
			return "https://example.com/" + tag, true
		}
	}
	return nil, false
}

// resourceKind is what an attribute round-trip writes: a resource type's
// core schema, endpoint, and the attribute that names it (filled with the
// run's prefix so cleanup finds it).
type resourceKind struct {
	urn, endpoint, nameAttr string
	extensions              bool // the User's extensions, found by rfcSchemas
}

var (
	userKind  = resourceKind{urn: userURN, endpoint: "/Users", nameAttr: "userName", extensions: true}
	groupKind = resourceKind{urn: groupURN, endpoint: "/Groups", nameAttr: "displayName"}
)

// rfcUserAttributes and rfcGroupAttributes write every writable attribute
// of the resource type's schema (and the User's extensions) as /Schemas
// describes them, read the resource back and compare.
func rfcUserAttributes(ctx context.Context, r *run) error  { return rfcAttributes(ctx, r, userKind) }
func rfcGroupAttributes(ctx context.Context, r *run) error { return rfcAttributes(ctx, r, groupKind) }

func rfcAttributes(ctx context.Context, r *run, kind resourceKind) error {
	list, err := resourceList(r, ctx, "/Schemas")
	if err != nil {
		return err
	}
	body := map[string]any{"schemas": []string{kind.urn}}
	type expectation struct {
		path string
		want any
	}
	var wants []expectation
	var skipped []string
	for _, s := range list {
		id := str(s["id"])
		target := body
		switch {
		case id == kind.urn:
		case kind.extensions && r.vars["userExtension:"+id] != "":
			target = map[string]any{}
			body[id] = target
			body["schemas"] = append(body["schemas"].([]string), id)
		default:
			continue
		}
		prefix := ""
		if id != kind.urn {
			prefix = id + "."
		}
		for _, raw := range asList(s["attributes"]) {
			a := parseAttribute(raw)
			if !a.writable() {
				continue
			}
			if strings.EqualFold(a.Name, kind.nameAttr) && id == kind.urn {
				target[a.Name] = r.name("rfc-attrs-" + guid()[:8])
				wants = append(wants, expectation{a.Name, target[a.Name]})
				continue
			}
			if strings.ToLower(a.Type) != "complex" {
				v, ok := a.sample(a.Name)
				if !ok {
					skipped = append(skipped, prefix+a.Name)
					continue
				}
				if a.MultiValued {
					target[a.Name] = []any{v}
					wants = append(wants, expectation{prefix + a.Name + ".0", v})
				} else {
					target[a.Name] = v
					wants = append(wants, expectation{prefix + a.Name, v})
				}
				continue
			}
			elem := map[string]any{}
			var sub []expectation
			ok := true
			for _, sa := range a.Sub {
				if !sa.writable() {
					continue
				}
				v, fits := sa.sample(a.Name + "-" + sa.Name)
				if !fits {
					ok = false // e.g. manager.$ref: needs a real resource
					break
				}
				elem[sa.Name] = v
				p := prefix + a.Name + "." + sa.Name
				if a.MultiValued {
					p = prefix + a.Name + ".0." + sa.Name
				}
				sub = append(sub, expectation{p, v})
			}
			if !ok || len(elem) == 0 {
				skipped = append(skipped, prefix+a.Name)
				continue
			}
			if a.MultiValued {
				target[a.Name] = []any{elem}
			} else {
				target[a.Name] = elem
			}
			wants = append(wants, sub...)
		}
	}
	_, id, err := r.create(ctx, kind.endpoint, body)
	if err != nil {
		return err
	}
	res, err := r.fetch(ctx, kind.endpoint+"/"+id)
	if err != nil {
		return err
	}
	u := res.JSON
	var bad []string
	for _, w := range wants {
		got := get(u, w.path)
		if !sameValue(got, w.want) {
			bad = append(bad, fmt.Sprintf("%s: wrote %s, read %s", w.path, jsonish(w.want), jsonish(got)))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%d of %d attribute values did not round-trip: %s", len(bad), len(wants), strings.Join(bad, "; "))
	}
	if len(skipped) > 0 {
		r.note = fmt.Sprintf("%d values checked; not written (need a real resource or are not writable by value): %s", len(wants), strings.Join(skipped, ", "))
	}
	return nil
}

// sameValue compares a written and a read value; dateTimes compare as
// instants.
func sameValue(got, want any) bool {
	if got == want {
		return true
	}
	gs, ok1 := got.(string)
	ws, ok2 := want.(string)
	if ok1 && ok2 {
		gt, err1 := time.Parse(time.RFC3339Nano, gs)
		wt, err2 := time.Parse(time.RFC3339Nano, ws)
		return err1 == nil && err2 == nil && gt.Equal(wt)
	}
	return false
}

// filterUsers creates the two users the filter checks query.
func (r *run) filterUsers(ctx context.Context) error {
	if _, ok := r.vars["alpha"]; ok {
		return nil
	}
	if _, ok := r.vars["filterUsersFailed"]; ok {
		return skipf("the filter test users could not be created")
	}
	for _, n := range []string{"alpha", "beta"} {
		name := r.name("rfc-f-" + n)
		mail := r.id + "-" + n + "@example.com"
		body := map[string]any{"schemas": []string{userURN}, "userName": name, "active": true,
			"emails": []any{map[string]any{"type": "work", "value": mail, "primary": true}}}
		if n == "alpha" {
			body["title"] = "Validator"
		}
		_, id, err := r.create(ctx, "/Users", body)
		if err != nil {
			r.vars["filterUsersFailed"] = "yes"
			return fmt.Errorf("create the %s test user: %w", n, err)
		}
		r.vars[n], r.vars[n+"Id"], r.vars[n+"Mail"] = name, id, mail
	}
	return nil
}

// rfcFilter runs a filter with {alpha}, {beta}, {betaMail}, {run} and
// {prefix} replaced, and requires exactly the named users.
func rfcFilter(filter string, want ...string) func(context.Context, *run) error {
	return func(ctx context.Context, r *run) error {
		if err := r.filterUsers(ctx); err != nil {
			return err
		}
		f := strings.NewReplacer("{alpha}", r.vars["alpha"], "{beta}", r.vars["beta"], "{betaMail}", r.vars["betaMail"],
			"{run}", r.id, "{prefix}", r.prefix).Replace(filter)
		res, err := r.fetch(ctx, "/Users"+filterQuery(f))
		if err != nil {
			return err
		}
		got := ids(res)
		var wantIDs []string
		for _, w := range want {
			wantIDs = append(wantIDs, r.vars[w+"Id"])
		}
		slices.Sort(got)
		slices.Sort(wantIDs)
		if !slices.Equal(got, wantIDs) {
			return fmt.Errorf("filter %s returned ids %v, want %v (%s)", f, got, wantIDs, strings.Join(want, ", "))
		}
		return wantTotal(res, len(want))
	}
}

func rfcPaging(ctx context.Context, r *run) error {
	if err := r.filterUsers(ctx); err != nil {
		return err
	}
	q := filterQuery(fmt.Sprintf("userName sw %q", r.prefix+"rfc-f-"))
	seen := map[string]bool{}
	for start := 1; start <= 2; start++ {
		res, err := r.fetch(ctx, "/Users"+q+fmt.Sprintf("&startIndex=%d&count=1", start))
		if err != nil {
			return err
		}
		n, err := total(res)
		if err != nil {
			return err
		}
		if n != 2 {
			return fmt.Errorf("totalResults is %d, want 2 (all matches, not the page)", n)
		}
		if got, _ := integer(res.JSON["startIndex"]); got != start {
			return fmt.Errorf("startIndex is %v, want %d", jsonish(res.JSON["startIndex"]), start)
		}
		if got, ok := integer(res.JSON["itemsPerPage"]); !ok || got != 1 || len(list(res)) != 1 {
			return fmt.Errorf("itemsPerPage %v with %d Resources, want 1", jsonish(res.JSON["itemsPerPage"]), len(list(res)))
		}
		seen[ids(res)[0]] = true
	}
	if !seen[r.vars["alphaId"]] || !seen[r.vars["betaId"]] {
		return fmt.Errorf("two pages of count=1 did not return both users")
	}
	res, err := r.fetch(ctx, "/Users"+q+"&count=0")
	if err != nil {
		return err
	}
	if n, _ := total(res); n != 2 || len(list(res)) != 0 {
		return fmt.Errorf("count=0 returned totalResults %d and %d Resources, want 2 and none", n, len(list(res)))
	}
	return nil
}

func rfcSort(ctx context.Context, r *run) error {
	if err := r.filterUsers(ctx); err != nil {
		return err
	}
	q := filterQuery(fmt.Sprintf("userName sw %q", r.prefix+"rfc-f-"))
	for order, first := range map[string]string{"ascending": "alphaId", "descending": "betaId"} {
		res, err := r.fetch(ctx, "/Users"+q+"&sortBy=userName&sortOrder="+order)
		if err != nil {
			return err
		}
		if got := ids(res); len(got) != 2 || got[0] != r.vars[first] {
			return fmt.Errorf("sortOrder=%s returned %v, want %s first", order, got, r.vars[first])
		}
	}
	return nil
}

func rfcETag(ctx context.Context, r *run) error {
	if err := r.filterUsers(ctx); err != nil {
		return err
	}
	path := "/Users/" + r.vars["betaId"]
	res, err := r.fetch(ctx, path)
	if err != nil {
		return err
	}
	stale := res.Header.Get("ETag")
	if stale == "" {
		stale = str(get(res.JSON, "meta.version"))
	}
	if stale == "" {
		return fmt.Errorf("etag.supported is true but GET returns neither an ETag header nor meta.version")
	}
	res, err = r.c.do(ctx, http.MethodPatch, path, patchOp(op("replace", "displayName", "ETag one")), "If-Match", stale)
	if err != nil {
		return err
	}
	if err := expect(res, http.StatusOK, http.StatusNoContent); err != nil {
		return fmt.Errorf("If-Match with the current version: %w", err)
	}
	res, err = r.c.do(ctx, http.MethodPatch, path, patchOp(op("replace", "displayName", "ETag two")), "If-Match", stale)
	if err != nil {
		return err
	}
	if err := expect(res, http.StatusPreconditionFailed); err != nil {
		return fmt.Errorf("If-Match with a stale version: %w", err)
	}
	return scimError(res)
}

func rfcBulk(ctx context.Context, r *run) error {
	userName, groupName := r.name("rfc-bulk-"+guid()[:8]), r.name("rfc-bulk-group-"+guid()[:8])
	res, err := r.c.do(ctx, http.MethodPost, "/Bulk", map[string]any{
		"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:BulkRequest"},
		"Operations": []any{
			map[string]any{"method": "POST", "path": "/Users", "bulkId": "u1",
				"data": map[string]any{"schemas": []string{userURN}, "userName": userName}},
			map[string]any{"method": "POST", "path": "/Groups", "bulkId": "g1",
				"data": map[string]any{"schemas": []string{groupURN}, "displayName": groupName,
					"members": []any{map[string]any{"type": "User", "value": "bulkId:u1"}}}},
		},
	})
	if err != nil {
		return err
	}
	ops := asList(res.JSON["Operations"])
	var locations []string
	for _, o := range ops {
		loc := str(get(o, "location"))
		if i := strings.LastIndex(loc, "/Users/"); i >= 0 {
			r.track(loc[i:])
		} else if i := strings.LastIndex(loc, "/Groups/"); i >= 0 {
			r.track(loc[i:])
		}
		locations = append(locations, loc)
	}
	if err := expect(res, http.StatusOK); err != nil {
		return err
	}
	if len(ops) != 2 {
		return fmt.Errorf("BulkResponse has %d operations, want 2", len(ops))
	}
	for i, o := range ops {
		if s := get(o, "status"); s != "201" {
			return fmt.Errorf("operation %d status is %s, want \"201\" (a string, RFC 7644 §3.7.3)", i+1, jsonish(s))
		}
	}
	uid := locations[0][strings.LastIndex(locations[0], "/")+1:]
	gpath := locations[1][strings.LastIndex(locations[1], "/Groups/"):]
	res, err = r.fetch(ctx, gpath)
	if err != nil {
		return err
	}
	return wantEqual(res.JSON, "members.0.value", uid)
}

func rfcInvalidFilter(ctx context.Context, r *run) error {
	res, err := r.c.do(ctx, http.MethodGet, "/Users"+filterQuery(`userName eq "x" and (`), nil)
	if err != nil {
		return err
	}
	if err := expect(res, http.StatusBadRequest); err != nil {
		return err
	}
	if err := scimError(res); err != nil {
		return err
	}
	return wantEqual(res.JSON, "scimType", "invalidFilter")
}
