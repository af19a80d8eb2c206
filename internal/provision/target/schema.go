package target

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/rosterhq/roster/internal/scimclient"
)

// Core schema URNs (RFC 7643 §8.7.1), used when the app serves no
// /ResourceTypes.
const (
	userURN  = "urn:ietf:params:scim:schemas:core:2.0:User"
	groupURN = "urn:ietf:params:scim:schemas:core:2.0:Group"
)

// commonAttributes are on every resource without being in a schema
// (RFC 7643 §3.1), so an app's /Schemas rarely lists them.
var commonAttributes = map[string]bool{"id": true, "externalid": true, "meta": true, "schemas": true}

// schemaAttr is an attribute of a served schema (RFC 7643 §7).
type schemaAttr struct {
	Name          string       `json:"name"`
	Type          string       `json:"type"`
	SubAttributes []schemaAttr `json:"subAttributes"`
}

// schemaDef is a served schema.
type schemaDef struct {
	ID         string       `json:"id"`
	Attributes []schemaAttr `json:"attributes"`
}

// resourceTypeDef is a served resource type (RFC 7643 §6).
type resourceTypeDef struct {
	ID               string `json:"id"`
	Name             string `json:"name"`
	Schema           string `json:"schema"`
	SchemaExtensions []struct {
		Schema string `json:"schema"`
	} `json:"schemaExtensions"`
}

// SchemaWarnings reads the app's /Schemas (and /ResourceTypes, to learn
// which schemas a resource type has) and returns one readable warning per
// mapped target path the app does not advertise for resourceType ("User"
// or "Group"). A path may carry a value filter (`emails[type eq
// "work"].value` is checked as emails.value), a sub-attribute
// (name.givenName) or an extension URN
// (urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager).
// The common attributes id, externalId and meta are always accepted. An
// app that serves no usable /Schemas yields one warning saying so, as
// many apps do not; a warning never blocks a job. The error is for a
// request that got no answer at all.
func (t *Target) SchemaWarnings(ctx context.Context, resourceType string, paths []string) ([]string, error) {
	schemas, warn, err := t.schemas(ctx)
	if err != nil || warn != "" {
		if warn != "" {
			return []string{warn}, nil
		}
		return nil, err
	}
	byURN := map[string]*schemaDef{}
	for i := range schemas {
		byURN[strings.ToLower(schemas[i].ID)] = &schemas[i]
	}
	core, exts, warn := t.typeSchemas(ctx, resourceType, byURN)
	if warn != "" {
		return []string{warn}, nil
	}
	var out []string
	for _, p := range paths {
		if w := check(resourceType, p, core, exts, byURN); w != "" {
			out = append(out, w)
		}
	}
	return out, nil
}

// get reads a discovery endpoint as a list of JSON documents: a SCIM
// ListResponse or a bare array, nil when it is not served (with the
// status), and an error only when no answer came.
func (t *Target) get(ctx context.Context, path string) ([]json.RawMessage, int, error) {
	res, err := t.client.Do(ctx, scimclient.Request{Method: http.MethodGet, Path: path})
	if err != nil {
		return nil, 0, err
	}
	if !res.OK() {
		return nil, res.Status, nil
	}
	body := bytes.TrimSpace(res.Body)
	if len(body) > 0 && body[0] == '[' {
		var docs []json.RawMessage
		if json.Unmarshal(body, &docs) != nil {
			return nil, res.Status, nil
		}
		return docs, res.Status, nil
	}
	lr, err := scimclient.DecodeListResponse(body)
	if err != nil || lr.Resources == nil {
		return nil, res.Status, nil
	}
	return lr.Resources, res.Status, nil
}

// schemas reads /Schemas; warn says why they are not usable.
func (t *Target) schemas(ctx context.Context) ([]schemaDef, string, error) {
	docs, status, err := t.get(ctx, "/Schemas")
	if err != nil {
		return nil, "", err
	}
	if docs == nil {
		why := "did not answer with a list of schemas"
		if status != http.StatusOK {
			why = fmt.Sprintf("answered %d", status)
		}
		return nil, fmt.Sprintf("the app does not serve its schemas (GET /Schemas %s), so the mapped attributes cannot be checked; "+
			"make sure the app accepts each of them", why), nil
	}
	var out []schemaDef
	for _, d := range docs {
		var s schemaDef
		if json.Unmarshal(d, &s) == nil && s.ID != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, "the app's /Schemas lists no schema, so the mapped attributes cannot be checked", nil
	}
	return out, "", nil
}

// typeSchemas returns the core schema and the extensions of a resource
// type. Without /ResourceTypes it takes the RFC core schema of the type
// and every other schema served as a possible extension.
func (t *Target) typeSchemas(ctx context.Context, resourceType string, byURN map[string]*schemaDef) (*schemaDef, map[string]bool, string) {
	exts := map[string]bool{}
	docs, _, err := t.get(ctx, "/ResourceTypes")
	if err == nil && docs != nil {
		for _, d := range docs {
			var rt resourceTypeDef
			if json.Unmarshal(d, &rt) != nil {
				continue
			}
			if !strings.EqualFold(rt.Name, resourceType) && !strings.EqualFold(rt.ID, resourceType) {
				continue
			}
			core := byURN[strings.ToLower(rt.Schema)]
			if core == nil {
				return nil, nil, fmt.Sprintf("the app's %s resource type names schema %s, which /Schemas does not serve, "+
					"so the mapped attributes cannot be checked", resourceType, rt.Schema)
			}
			for _, e := range rt.SchemaExtensions {
				exts[strings.ToLower(e.Schema)] = true
			}
			return core, exts, ""
		}
		return nil, nil, fmt.Sprintf("the app advertises no %s resource type in /ResourceTypes; it may not accept %ss at all",
			resourceType, strings.ToLower(resourceType))
	}
	urn := userURN
	if strings.EqualFold(resourceType, "Group") {
		urn = groupURN
	}
	core := byURN[strings.ToLower(urn)]
	if core == nil {
		return nil, nil, fmt.Sprintf("the app's /Schemas has no %s schema (%s), so the mapped attributes cannot be checked", resourceType, urn)
	}
	for u := range byURN {
		if u != strings.ToLower(urn) {
			exts[u] = true
		}
	}
	return core, exts, ""
}

// attrPath is a target path split into its schema, attribute and
// sub-attribute.
type attrPath struct {
	URN  string // "" for the resource type's core schema
	Attr string
	Sub  string
}

// parsePath splits a mapping's target path: a value filter in brackets is
// dropped (`emails[type eq "work"].value` is emails.value), and an
// extension URN is what comes before the last colon outside brackets.
func parsePath(p string) attrPath {
	var b strings.Builder
	depth, quoted := 0, false
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case quoted:
			if c == '\\' {
				i++
			} else if c == '"' {
				quoted = false
			}
		case c == '"' && depth > 0:
			quoted = true
		case c == '[':
			depth++
		case c == ']':
			depth = max(depth-1, 0)
		case depth == 0:
			b.WriteByte(c)
		}
	}
	s := strings.TrimSpace(b.String())
	var ap attrPath
	if strings.HasPrefix(strings.ToLower(s), "urn:") {
		if i := strings.LastIndexByte(s, ':'); i >= 0 {
			ap.URN, s = s[:i], s[i+1:]
		}
	}
	ap.Attr, ap.Sub, _ = strings.Cut(s, ".")
	return ap
}

// find returns the attribute of a list by name, ignoring case (RFC 7643
// §2.1).
func find(attrs []schemaAttr, name string) *schemaAttr {
	for i := range attrs {
		if strings.EqualFold(attrs[i].Name, name) {
			return &attrs[i]
		}
	}
	return nil
}

// check returns the warning for one path, or "".
func check(resourceType, path string, core *schemaDef, exts map[string]bool, byURN map[string]*schemaDef) string {
	ap := parsePath(path)
	if ap.Attr == "" {
		return fmt.Sprintf("%s attribute %q: not an attribute path", resourceType, path)
	}
	s := core
	if ap.URN != "" {
		u := strings.ToLower(ap.URN)
		s = byURN[u]
		switch {
		case s == nil:
			return fmt.Sprintf("%s attribute %q: the app advertises no schema %s; it may refuse or drop the value", resourceType, path, ap.URN)
		case s != core && !exts[u]:
			return fmt.Sprintf("%s attribute %q: schema %s is not an extension of the app's %s resource type; it may refuse or drop the value",
				resourceType, path, ap.URN, resourceType)
		}
	} else if commonAttributes[strings.ToLower(ap.Attr)] {
		return ""
	}
	a := find(s.Attributes, ap.Attr)
	if a == nil && ap.URN == "" {
		// An extension attribute written without its URN is accepted by
		// many apps; look there before warning.
		for u := range exts {
			if e := byURN[u]; e != nil {
				if a = find(e.Attributes, ap.Attr); a != nil {
					break
				}
			}
		}
	}
	if a == nil {
		return fmt.Sprintf("%s attribute %q: the app's schema %s has no attribute %s; it may refuse or drop the value",
			resourceType, path, s.ID, ap.Attr)
	}
	if ap.Sub != "" && len(a.SubAttributes) == 0 && a.Type != "" && !strings.EqualFold(a.Type, "complex") {
		return fmt.Sprintf("%s attribute %q: the app's attribute %s is a %s, not complex, so it has no sub-attribute %s",
			resourceType, path, a.Name, a.Type, ap.Sub)
	}
	if ap.Sub != "" && len(a.SubAttributes) > 0 && find(a.SubAttributes, ap.Sub) == nil {
		return fmt.Sprintf("%s attribute %q: the app's attribute %s has no sub-attribute %s; it may refuse or drop the value",
			resourceType, path, a.Name, ap.Sub)
	}
	return ""
}
