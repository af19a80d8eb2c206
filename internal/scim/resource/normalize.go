// Package resource holds the rules for SCIM resource documents: turning a
// client's JSON into Roster's normalized form (Normalize), checking required
// attributes and primary flags, and rendering a stored resource back to JSON
// with meta and attribute projection (Render, Projection).
//
// The normalized form is a map[string]any whose keys are the canonical names
// of the core schema's attributes plus "externalId"; extension attributes are
// nested under their schema URN, spelled as the registry spells it. Values are
// string (string, reference, binary and dateTime attributes, stored exactly as
// sent), bool, int64 (integer), float64 (decimal), map[string]any (complex,
// canonical sub-attribute keys) and []any (multi-valued). An absent key means
// unassigned: the form never holds nil values or empty arrays. It never holds
// id, meta or schemas, which the server owns, nor readOnly attributes such as
// a user's groups.
package resource

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math"
	"strings"
	"time"

	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/scim/scimerr"
	"github.com/rosterhq/roster/internal/scim/strictjson"
)

// Decode parses a JSON object request body, keeping numbers exact. A body
// that strictjson.Check refuses (not UTF-8, keys equal but for case) is
// invalidSyntax rather than altered or decided by chance.
func Decode(body []byte) (map[string]any, error) {
	if err := strictjson.Check(body); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, scimerr.InvalidSyntax("request body is not a JSON object: %v", err)
	}
	if dec.More() {
		return nil, scimerr.InvalidSyntax("request body has data after the JSON object")
	}
	if m == nil {
		return nil, scimerr.InvalidSyntax("request body must be a JSON object")
	}
	return m, nil
}

// Normalize validates a resource body sent by a client against rt and returns
// it in normalized form. Per RFC 7644 §3.3 values of readOnly attributes (id,
// meta, groups) are ignored; per RFC 7643 §2.5 null and empty values mean
// unassigned. Unknown attributes and schemas are rejected with invalidValue so
// that nothing a client sends is silently lost; Microsoft Entra ID's extra
// group schema URN is accepted.
func Normalize(rt *schema.ResourceType, body map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(body))
	n := &named{}
	for key, v := range body {
		switch {
		case strings.EqualFold(key, "schemas"):
			if err := checkSchemas(rt, v); err != nil {
				return nil, err
			}
		case strings.EqualFold(key, "id"), strings.EqualFold(key, "meta"):
			// Server-owned; RFC 7644 §3.3 says such values are ignored.
		default:
			if err := setAttribute(rt, n, out, key, v); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func checkSchemas(rt *schema.ResourceType, v any) error {
	list, ok := v.([]any)
	if !ok {
		return scimerr.InvalidSyntax(`"schemas" must be an array of schema URNs`)
	}
	core := false
	for _, u := range list {
		s, ok := u.(string)
		if !ok {
			return scimerr.InvalidSyntax(`"schemas" must be an array of schema URNs`)
		}
		switch {
		case strings.EqualFold(s, rt.Schema.ID):
			core = true
		case rt.Extension(s) != nil, strings.EqualFold(s, schema.EntraGroupURN):
		default:
			return scimerr.InvalidValue("schema %q is not supported for %s resources", s, rt.Name)
		}
	}
	if !core && len(list) > 0 {
		return scimerr.InvalidValue(`"schemas" must include %q`, rt.Schema.ID)
	}
	return nil
}

// setAttribute stores one top-level key of a request body into out. The key
// is a core attribute name, an extension URN whose value is an object of that
// extension's attributes, or a URN-qualified attribute name.
func setAttribute(rt *schema.ResourceType, n *named, out map[string]any, key string, v any) error {
	if ext := rt.Extension(key); ext != nil {
		if v == nil {
			return nil
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return scimerr.InvalidSyntax("extension %q must be a JSON object", ext.ID)
		}
		for k, sv := range obj {
			if err := setExtensionAttribute(ext, n, out, k, sv); err != nil {
				return err
			}
		}
		return nil
	}
	urn, name := rt.SplitURN(key)
	if urn != "" && !strings.EqualFold(urn, rt.Schema.ID) {
		ext := rt.Extension(urn)
		if ext == nil {
			return scimerr.InvalidValue("attribute %q belongs to schema %q, which %s resources do not support", key, urn, rt.Name)
		}
		return setExtensionAttribute(ext, n, out, name, v)
	}
	res, err := rt.Resolve("", name, "")
	if err != nil {
		return scimerr.InvalidValue("%s resources have no attribute %q", rt.Name, key)
	}
	if err := n.once(res.Attr.Name, key); err != nil {
		return err
	}
	if res.Attr.Mutability == schema.ReadOnly {
		return nil
	}
	nv, err := bodyValue(res.Attr, v)
	if err != nil {
		return err
	}
	if nv != nil {
		out[res.Attr.Name] = nv
	}
	return nil
}

// named records which attribute each key of a body named, so that two
// spellings of one attribute are refused instead of one winning by the
// order of a map: "nickName" and "NICKNAME" (RFC 7643 §2.1), or an
// extension attribute given both inside the extension's object and as a
// URN-qualified key. strictjson.Check catches the first kind in a request
// body; this catches both in any map, such as one built by the admin API.
type named struct{ keys map[string]string }

// once records that key names the attribute at path.
func (n *named) once(path, key string) error {
	if n.keys == nil {
		n.keys = map[string]string{}
	}
	if first, ok := n.keys[path]; ok {
		return scimerr.InvalidSyntax("keys %q and %q both name attribute %q; attribute names are case-insensitive (RFC 7643 §2.1)", first, key, path)
	}
	n.keys[path] = key
	return nil
}

func setExtensionAttribute(ext *schema.Schema, n *named, out map[string]any, name string, v any) error {
	a := ext.Attr(name)
	if a == nil {
		return scimerr.InvalidValue("schema %q has no attribute %q", ext.ID, name)
	}
	if err := n.once(ext.ID+":"+a.Name, name); err != nil {
		return err
	}
	if a.Mutability == schema.ReadOnly {
		return nil
	}
	nv, err := bodyValue(a, v)
	if err != nil {
		return err
	}
	if nv == nil {
		return nil
	}
	m, _ := out[ext.ID].(map[string]any)
	if m == nil {
		m = map[string]any{}
		out[ext.ID] = m
	}
	m[a.Name] = nv
	return nil
}

// bodyValue normalizes the value of an attribute in a resource body (POST,
// PUT). A resource body is the resource's representation, so a multi-valued
// attribute must be a JSON array (RFC 7643 §2.4): a single object or string
// for "emails" is invalidValue, as any other type mismatch is, instead of
// being taken for a one-element list. PATCH keeps accepting one element in
// place of an array (see Value), since RFC 7644 §3.5.2.1 adds "a new value".
func bodyValue(a *schema.Attribute, v any) (any, error) {
	if _, isList := v.([]any); a.MultiValued && v != nil && !isList {
		return nil, scimerr.InvalidValue("attribute %q is multi-valued; its value must be a JSON array (RFC 7643 §2.4)", a.Name)
	}
	return Value(a, v)
}

// Value normalizes one attribute value sent by a client. It returns nil, and
// no error, for a null or empty value, which means unassigned. Booleans sent
// as the strings "True" or "False" (as Microsoft Entra ID's default job does)
// become booleans; a single value for a multi-valued attribute becomes a
// one-element list (for PATCH values; Normalize refuses it in a resource
// body); a plain string for a complex attribute with a "value"
// sub-attribute (Entra's manager id) becomes {"value": string}. Duplicate
// elements of a multi-valued attribute are merged (MergeDuplicates).
func Value(a *schema.Attribute, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	if a.MultiValued {
		list, ok := v.([]any)
		if !ok {
			list = []any{v}
		}
		out := make([]any, 0, len(list))
		for _, e := range list {
			ne, err := singleValue(a, e)
			if err != nil {
				return nil, err
			}
			if ne != nil {
				out = append(out, ne)
			}
		}
		if len(out) == 0 {
			return nil, nil
		}
		out, _ = MergeDuplicates(a, out)
		return out, nil
	}
	if _, isList := v.([]any); isList && a.Type == schema.Complex {
		// Entra's older samples send single-valued complex attributes such
		// as manager as a one-element array.
		list := v.([]any)
		switch len(list) {
		case 0:
			return nil, nil
		case 1:
			return singleValue(a, list[0])
		}
	}
	return singleValue(a, v)
}

func singleValue(a *schema.Attribute, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	if a.Type != schema.Complex {
		return Scalar(a, v)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		if s, isStr := v.(string); isStr && a.Sub("value") != nil {
			if s == "" {
				return nil, nil
			}
			obj = map[string]any{"value": s}
		} else {
			return nil, scimerr.InvalidValue("attribute %q must be a JSON object", a.Name)
		}
	}
	out := make(map[string]any, len(obj))
	subs := &named{}
	for k, sv := range obj {
		sa := a.Sub(k)
		if sa == nil {
			return nil, scimerr.InvalidValue("attribute %q has no sub-attribute %q", a.Name, k)
		}
		if err := subs.once(a.Name+"."+sa.Name, k); err != nil {
			return nil, err
		}
		if sa.Mutability == schema.ReadOnly && a.Mutability != schema.ReadOnly {
			continue
		}
		nv, err := Scalar(sa, sv)
		if err != nil {
			return nil, err
		}
		if nv != nil {
			out[sa.Name] = nv
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// Scalar normalizes a value of a non-complex attribute, checking its type per
// RFC 7643 §2.3. An empty string means unassigned.
func Scalar(a *schema.Attribute, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch a.Type {
	case schema.String, schema.Reference:
		s, ok := v.(string)
		if !ok {
			return nil, scimerr.InvalidValue("attribute %q must be a string", a.Name)
		}
		if s == "" {
			return nil, nil
		}
		return s, nil
	case schema.Binary:
		s, ok := v.(string)
		if !ok {
			return nil, scimerr.InvalidValue("attribute %q must be a base64 string", a.Name)
		}
		if s == "" {
			return nil, nil
		}
		if _, err := base64.StdEncoding.DecodeString(s); err != nil {
			if _, err2 := base64.RawStdEncoding.DecodeString(s); err2 != nil {
				return nil, scimerr.InvalidValue("attribute %q must be base64-encoded: %v", a.Name, err)
			}
		}
		return s, nil
	case schema.DateTime:
		s, ok := v.(string)
		if !ok {
			return nil, scimerr.InvalidValue("attribute %q must be an xsd:dateTime string", a.Name)
		}
		if s == "" {
			return nil, nil
		}
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			return nil, scimerr.InvalidValue("attribute %q must be an xsd:dateTime such as 2008-01-23T04:56:22Z, got %q", a.Name, s)
		}
		return s, nil
	case schema.Boolean:
		switch b := v.(type) {
		case bool:
			return b, nil
		case string:
			switch {
			case strings.EqualFold(b, "true"):
				return true, nil
			case strings.EqualFold(b, "false"):
				return false, nil
			}
		}
		return nil, scimerr.InvalidValue("attribute %q must be a boolean", a.Name)
	case schema.Integer:
		switch n := v.(type) {
		case json.Number:
			if i, err := n.Int64(); err == nil {
				return i, nil
			}
		case float64:
			if n == math.Trunc(n) && math.Abs(n) < 1<<53 {
				return int64(n), nil
			}
		case int64:
			return n, nil
		case int:
			return int64(n), nil
		}
		return nil, scimerr.InvalidValue("attribute %q must be an integer", a.Name)
	case schema.Decimal:
		switch n := v.(type) {
		case json.Number:
			if f, err := n.Float64(); err == nil {
				return f, nil
			}
		case float64:
			return n, nil
		case int64:
			return float64(n), nil
		case int:
			return float64(n), nil
		}
		return nil, scimerr.InvalidValue("attribute %q must be a number", a.Name)
	}
	return nil, scimerr.InvalidValue("attribute %q has unsupported type %q", a.Name, a.Type)
}

// CheckRequired reports a required top-level attribute of the core schema or
// of a required extension that attrs lacks, per RFC 7643 §2.2.
func CheckRequired(rt *schema.ResourceType, attrs map[string]any) error {
	for _, a := range rt.Schema.Attributes {
		if a.Required {
			if _, ok := attrs[a.Name]; !ok {
				return scimerr.InvalidValue("attribute %q is required", a.Name)
			}
		}
	}
	for _, e := range rt.Extensions {
		if !e.Required {
			continue
		}
		m, _ := attrs[e.Schema.ID].(map[string]any)
		for _, a := range e.Schema.Attributes {
			if _, ok := m[a.Name]; a.Required && !ok {
				return scimerr.InvalidValue("attribute %q of %q is required", a.Name, e.Schema.ID)
			}
		}
	}
	return nil
}

// CheckPrimary reports a multi-valued attribute with more than one element
// whose primary flag is true, which RFC 7643 §2.4 forbids.
func CheckPrimary(rt *schema.ResourceType, attrs map[string]any) error {
	check := func(attrs map[string]any, defs []*schema.Attribute) error {
		for _, a := range defs {
			if !a.HasPrimary() {
				continue
			}
			list, _ := attrs[a.Name].([]any)
			n := 0
			for _, e := range list {
				if m, ok := e.(map[string]any); ok && m["primary"] == true {
					n++
				}
			}
			if n > 1 {
				return scimerr.InvalidValue("attribute %q has %d values marked primary; at most one may be", a.Name, n)
			}
		}
		return nil
	}
	if err := check(attrs, rt.Schema.Attributes); err != nil {
		return err
	}
	for _, e := range rt.Extensions {
		if m, ok := attrs[e.Schema.ID].(map[string]any); ok {
			if err := check(m, e.Schema.Attributes); err != nil {
				return err
			}
		}
	}
	return nil
}
