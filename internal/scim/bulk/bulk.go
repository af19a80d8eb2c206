// Package bulk holds the protocol rules of SCIM Bulk requests, per RFC 7644
// §3.7: parsing and limits, "bulkId:" references between operations, and the
// order in which operations can run so that every reference is resolved
// before it is used.
package bulk

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/scim/scimerr"
	"github.com/rosterhq/roster/internal/scim/strictjson"
)

// Operation is one operation of a BulkRequest.
type Operation struct {
	Method  string          `json:"method"`
	BulkID  string          `json:"bulkId,omitempty"`
	Version string          `json:"version,omitempty"`
	Path    string          `json:"path"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// Request is a BulkRequest message, per RFC 7644 §3.7.
type Request struct {
	Schemas      []string    `json:"schemas"`
	FailOnErrors int         `json:"failOnErrors"`
	Operations   []Operation `json:"Operations"`
}

// Response is one operation's outcome in a BulkResponse.
type Response struct {
	Method   string `json:"method"`
	BulkID   string `json:"bulkId,omitempty"`
	Version  string `json:"version,omitempty"`
	Location string `json:"location,omitempty"`
	Status   string `json:"status"`
	Response any    `json:"response,omitempty"`
}

// Parse decodes a BulkRequest and checks it against maxOperations, per RFC
// 7644 §3.7.4 (too many operations is a 413). A body that strictjson.Check
// refuses, in its envelope or in any operation's data, is invalidSyntax.
func Parse(body []byte, maxOperations int) (Request, error) {
	var req Request
	if err := strictjson.Check(body); err != nil {
		return req, err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil {
		return req, scimerr.InvalidSyntax("bulk request is not valid JSON: %v", err)
	}
	found := false
	for _, s := range req.Schemas {
		found = found || strings.EqualFold(s, schema.BulkRequestURN)
	}
	if !found {
		return req, scimerr.InvalidValue(`"schemas" must contain %q`, schema.BulkRequestURN)
	}
	if len(req.Operations) == 0 {
		return req, scimerr.InvalidValue("bulk request has no Operations")
	}
	if len(req.Operations) > maxOperations {
		return req, scimerr.PayloadTooLarge("bulk request has %d operations; the maximum is %d", len(req.Operations), maxOperations)
	}
	if req.FailOnErrors < 0 {
		return req, scimerr.InvalidValue("failOnErrors must not be negative")
	}
	seen := map[string]bool{}
	for i, op := range req.Operations {
		m := strings.ToUpper(op.Method)
		switch m {
		case "POST", "PUT", "PATCH", "DELETE":
		default:
			return req, scimerr.InvalidValue("operation %d: unsupported method %q", i+1, op.Method)
		}
		req.Operations[i].Method = m
		if m == "POST" && op.BulkID == "" {
			return req, scimerr.InvalidValue("operation %d: POST operations need a bulkId", i+1)
		}
		if op.BulkID != "" {
			if seen[op.BulkID] {
				return req, scimerr.InvalidValue("operation %d: bulkId %q is used twice", i+1, op.BulkID)
			}
			seen[op.BulkID] = true
		}
		if op.Path == "" || op.Path[0] != '/' {
			return req, scimerr.InvalidValue("operation %d: path must start with '/'", i+1)
		}
	}
	return req, nil
}

const refPrefix = "bulkId:"

// References returns the bulkIds an operation refers to in its path or data.
func References(op Operation) []string {
	var refs []string
	add := func(s string) {
		if id, ok := strings.CutPrefix(s, refPrefix); ok {
			refs = append(refs, id)
		}
	}
	for _, seg := range strings.Split(op.Path, "/") {
		add(seg)
	}
	if len(op.Data) > 0 {
		var v any
		if json.Unmarshal(op.Data, &v) == nil {
			walkStrings(v, add)
		}
	}
	return refs
}

func walkStrings(v any, fn func(string)) {
	switch t := v.(type) {
	case string:
		fn(t)
	case []any:
		for _, e := range t {
			walkStrings(e, fn)
		}
	case map[string]any:
		for _, e := range t {
			walkStrings(e, fn)
		}
	}
}

// Resolve replaces every "bulkId:x" reference in the operation's path and
// data with the id created for x. It reports the first reference it cannot
// resolve.
func Resolve(op Operation, ids map[string]string) (Operation, error) {
	var missing string
	replace := func(s string) string {
		if ref, ok := strings.CutPrefix(s, refPrefix); ok {
			if id, ok := ids[ref]; ok {
				return id
			}
			if missing == "" {
				missing = ref
			}
		}
		return s
	}
	segs := strings.Split(op.Path, "/")
	for i, s := range segs {
		segs[i] = replace(s)
	}
	op.Path = strings.Join(segs, "/")
	if len(op.Data) > 0 {
		dec := json.NewDecoder(bytes.NewReader(op.Data))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return op, scimerr.InvalidSyntax("operation data is not valid JSON: %v", err)
		}
		v = mapStrings(v, replace)
		b, err := json.Marshal(v)
		if err != nil {
			return op, scimerr.InvalidSyntax("operation data: %v", err)
		}
		op.Data = b
	}
	if missing != "" {
		return op, scimerr.InvalidValue("bulkId %q is not defined by a successful POST in this request", missing)
	}
	return op, nil
}

func mapStrings(v any, fn func(string) string) any {
	switch t := v.(type) {
	case string:
		return fn(t)
	case []any:
		for i, e := range t {
			t[i] = mapStrings(e, fn)
		}
	case map[string]any:
		for k, e := range t {
			t[k] = mapStrings(e, fn)
		}
	}
	return v
}

// Order returns the order in which to run the operations: the request's
// order, except that an operation referring to a bulkId waits until the POST
// defining it has run (RFC 7644 §3.7.1 lets a client refer forward). Indexes
// of operations caught in a reference cycle come last, in request order;
// they fail when run because their references cannot be resolved.
func Order(ops []Operation) []int {
	defined := map[string]int{}
	for i, op := range ops {
		if op.BulkID != "" {
			defined[op.BulkID] = i
		}
	}
	refs := make([][]string, len(ops))
	for i, op := range ops {
		refs[i] = References(op)
	}
	done := make([]bool, len(ops))
	ready := map[string]bool{}
	var order []int
	for progress := true; progress; {
		progress = false
		for i, op := range ops {
			if done[i] {
				continue
			}
			ok := true
			for _, r := range refs[i] {
				if _, exists := defined[r]; exists && !ready[r] {
					ok = false
					break
				}
			}
			if ok {
				done[i] = true
				order = append(order, i)
				if op.BulkID != "" {
					ready[op.BulkID] = true
				}
				progress = true
			}
		}
	}
	for i := range ops {
		if !done[i] {
			order = append(order, i)
		}
	}
	return order
}
