package scimclient

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// PatchOpURN is the schema of a PATCH request body (RFC 7644 §3.5.2).
const PatchOpURN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

// Dialect is how an identity provider shapes what it sends. It is data: the
// presets below are the shapes IDP-NOTES §1.3–1.5 and §2.1 record, and a
// caller may copy one and change a field.
type Dialect struct {
	// Name names the dialect in reports.
	Name string
	// OpNames spells the PATCH op names "add", "replace" and "remove";
	// a missing name is sent in lower case.
	OpNames map[string]string
	// BoolStrings sends a boolean PATCH value as the string "True" or
	// "False", as Entra's default job does for active.
	BoolStrings bool
	// MergeReplaces folds consecutive replace ops on plain paths (no value
	// filter) into one op without a path whose value maps each path to its
	// value: Entra with aadOptscim062020, and Okta's
	// {"op":"replace","value":{"active":false}}.
	MergeReplaces bool
	// RemoveMembersByValue removes members with Entra's non-RFC
	// {"op":"Remove","path":"members","value":[{"value":id}]}; otherwise
	// each member is removed by the RFC path members[value eq "id"].
	RemoveMembersByValue bool
	// NullMemberRef adds "$ref":null to each member value, as Entra does.
	NullMemberRef bool
	// UpdateWithPUT makes Update replace the whole resource with PUT
	// instead of sending a PATCH, as Okta does for profile changes.
	UpdateWithPUT bool
	// PageEveryList sends startIndex and count (PageSize) on every list,
	// filtered or not, as Okta does.
	PageEveryList bool
	// PageSize is the count of a page when the caller names none.
	// Default 100.
	PageSize int
	// ExcludeGroupMembers adds excludedAttributes=members to group reads
	// that name no attributes, as Entra does.
	ExcludeGroupMembers bool
	// UserAgent is sent as User-Agent; empty sends Go's default.
	UserAgent string
	// NoUserAgent sends no User-Agent at all, as Entra sometimes does.
	NoUserAgent bool
}

// titleOps are Entra's capitalised op names.
var titleOps = map[string]string{"add": "Add", "replace": "Replace", "remove": "Remove"}

// The dialect presets.
var (
	// RFC is plain RFC 7644: lower-case ops, JSON booleans, one op per
	// path, members removed by value filter, PATCH for updates.
	RFC = Dialect{Name: "rfc", PageSize: 100}
	// Entra is the Entra provisioning service's default job (IDP-NOTES
	// §1.3, §1.5): "Add"/"Replace"/"Remove", "True"/"False" strings,
	// member removal by value array with "$ref":null, group reads without
	// members.
	Entra = Dialect{
		Name: "entra", OpNames: titleOps, BoolStrings: true, RemoveMembersByValue: true,
		NullMemberRef: true, ExcludeGroupMembers: true, PageSize: 100,
	}
	// EntraSCIM062020 is Entra with the aadOptscim062020 flag in the
	// Tenant URL (IDP-NOTES §1.5): lower-case ops, JSON booleans, plain
	// replaces folded into one path-less op, members removed by filter.
	EntraSCIM062020 = Dialect{
		Name: "entra-aadOptscim062020", MergeReplaces: true, NullMemberRef: true,
		ExcludeGroupMembers: true, PageSize: 100,
	}
	// Okta is Okta's SCIM 2.0 client (IDP-NOTES §2.1): lower-case ops,
	// path-less value objects, PUT for profile updates, startIndex=1 and
	// count=100 on every list, its User-Agent.
	Okta = Dialect{
		Name: "okta", MergeReplaces: true, UpdateWithPUT: true, PageEveryList: true,
		PageSize: 100, UserAgent: "Okta SCIM Client 1.0.0",
	}
)

// Dialects are the presets by name.
var Dialects = map[string]Dialect{RFC.Name: RFC, Entra.Name: Entra, EntraSCIM062020.Name: EntraSCIM062020, Okta.Name: Okta}

// header sets the dialect's headers on a request.
func (d Dialect) header(h http.Header) {
	switch {
	case d.NoUserAgent:
		// An empty value makes net/http send no User-Agent at all.
		h["User-Agent"] = []string{""}
	case d.UserAgent != "":
		h["User-Agent"] = []string{d.UserAgent}
	}
}

func (d Dialect) pageSize() int {
	if d.PageSize > 0 {
		return d.PageSize
	}
	return 100
}

// Op is one PATCH operation in dialect-neutral form: Op is "add",
// "replace" or "remove" in lower case; the dialect decides how it is sent.
type Op struct {
	Op    string
	Path  string
	Value any
}

// Add returns an add op.
func Add(path string, value any) Op { return Op{Op: "add", Path: path, Value: value} }

// Replace returns a replace op.
func Replace(path string, value any) Op { return Op{Op: "replace", Path: path, Value: value} }

// Remove returns a remove op without a value.
func Remove(path string) Op { return Op{Op: "remove", Path: path} }

// Members is the value of a membership op: member ids.
type Members []string

// AddMembers returns an op adding users or groups to a group.
func AddMembers(ids ...string) Op { return Op{Op: "add", Path: "members", Value: Members(ids)} }

// RemoveMembers returns an op removing members from a group; the dialect
// decides between a value array and one filtered path per member.
func RemoveMembers(ids ...string) Op { return Op{Op: "remove", Path: "members", Value: Members(ids)} }

// wireOp is an op as sent.
type wireOp struct {
	Op    string `json:"op"`
	Path  string `json:"path,omitempty"`
	Value any    `json:"value,omitempty"`
}

// PatchBody returns the PatchOp request body for ops in the dialect's
// shape (RFC 7644 §3.5.2).
func (d Dialect) PatchBody(ops ...Op) ([]byte, error) {
	body := struct {
		Schemas    []string `json:"schemas"`
		Operations []wireOp `json:"Operations"`
	}{Schemas: []string{PatchOpURN}, Operations: d.shape(ops)}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encode PATCH: %w", err)
	}
	return b, nil
}

// shape turns neutral ops into the dialect's wire ops.
func (d Dialect) shape(ops []Op) []wireOp {
	out := make([]wireOp, 0, len(ops))
	var merged map[string]any // the path-less replace being built
	for _, o := range ops {
		name := strings.ToLower(o.Op)
		if d.MergeReplaces && name == "replace" && mergeable(o) {
			if merged == nil {
				merged = map[string]any{}
				out = append(out, wireOp{Op: d.opName(name), Value: merged})
			}
			if o.Path == "" {
				for k, v := range o.Value.(map[string]any) {
					merged[k] = d.value(v)
				}
			} else {
				merged[o.Path] = d.value(o.Value)
			}
			continue
		}
		merged = nil
		if ids, ok := o.Value.(Members); ok && name == "remove" && !d.RemoveMembersByValue {
			for _, id := range ids {
				out = append(out, wireOp{Op: d.opName(name), Path: fmt.Sprintf("%s[value eq %q]", o.Path, id)})
			}
			continue
		}
		out = append(out, wireOp{Op: d.opName(name), Path: o.Path, Value: d.value(o.Value)})
	}
	return out
}

// mergeable reports whether a replace op can join a path-less value
// object: a plain path, or no path and an object value.
func mergeable(o Op) bool {
	if o.Path == "" {
		_, ok := o.Value.(map[string]any)
		return ok
	}
	return !strings.ContainsAny(o.Path, "[]")
}

func (d Dialect) opName(op string) string {
	if n, ok := d.OpNames[op]; ok {
		return n
	}
	return op
}

// value shapes an op's value: booleans as strings and member lists.
func (d Dialect) value(v any) any {
	switch x := v.(type) {
	case bool:
		if d.BoolStrings {
			if x {
				return "True"
			}
			return "False"
		}
	case Members:
		out := make([]map[string]any, len(x))
		for i, id := range x {
			out[i] = map[string]any{"value": id}
			if d.NullMemberRef {
				out[i]["$ref"] = nil
			}
		}
		return out
	}
	return v
}
