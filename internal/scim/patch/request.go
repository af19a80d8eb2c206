package patch

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/rosterhq/roster/internal/scim/schema"
	"github.com/rosterhq/roster/internal/scim/scimerr"
	"github.com/rosterhq/roster/internal/scim/strictjson"
)

// MaxOperations is the most operations one PatchOp request may carry.
const MaxOperations = 1000

// The operation names of RFC 7644 §3.5.2, in the lower case Apply reports
// them in.
const (
	OpAdd     = "add"
	OpReplace = "replace"
	OpRemove  = "remove"
)

// Operation is one PATCH operation, per RFC 7644 §3.5.2.
type Operation struct {
	Op    string          `json:"op"`
	Path  string          `json:"path,omitempty"`
	Value json.RawMessage `json:"value,omitempty"`
}

// Request is a PatchOp message body, per RFC 7644 §3.5.2.
type Request struct {
	Schemas    []string    `json:"schemas"`
	Operations []Operation `json:"Operations"`
}

// ParseRequest decodes and checks a PatchOp body, per RFC 7644 §3.5.2:
// "schemas" must contain schema.PatchOpURN, and "Operations" must hold
// between one and MaxOperations operations whose "op" is add, replace or
// remove in any case (Microsoft Entra ID capitalises them). A body that
// strictjson.Check refuses is invalidSyntax. Errors are
// *scimerr.Error: invalidSyntax for a body that is not a PatchOp message and
// invalidValue for an operation count out of range. Paths and values are
// checked by Apply, which knows the resource type.
func ParseRequest(body []byte) (Request, error) {
	var req Request
	if err := strictjson.Check(body); err != nil {
		return Request{}, err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil {
		return Request{}, scimerr.InvalidSyntax("PatchOp request body is not valid JSON: %v", err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return Request{}, scimerr.InvalidSyntax("PatchOp request body has data after the JSON object")
	}
	if !containsFold(req.Schemas, schema.PatchOpURN) {
		return Request{}, scimerr.InvalidSyntax(`PatchOp request "schemas" must contain %q`, schema.PatchOpURN)
	}
	switch n := len(req.Operations); {
	case n == 0:
		return Request{}, scimerr.InvalidValue(`PatchOp request "Operations" must hold at least one operation`)
	case n > MaxOperations:
		return Request{}, scimerr.InvalidValue(`PatchOp request "Operations" holds %d operations; at most %d are allowed`, n, MaxOperations)
	}
	for i, op := range req.Operations {
		if _, err := opName(op.Op); err != nil {
			return Request{}, opError(i, op, err)
		}
	}
	return req, nil
}

// opName returns the lower-case name of an operation. RFC 7644 §3.5.2 spells
// them in lower case; Microsoft Entra ID's default job sends "Add", "Replace"
// and "Remove", so they compare case-insensitively.
func opName(op string) (string, error) {
	name := strings.ToLower(strings.TrimSpace(op))
	switch name {
	case OpAdd, OpReplace, OpRemove:
		return name, nil
	case "":
		return "", scimerr.InvalidSyntax(`"op" is missing; it must be "add", "replace" or "remove"`)
	}
	return "", scimerr.InvalidSyntax(`unknown op %q; it must be "add", "replace" or "remove"`, op)
}

// opError puts the position and the op of operation i into the detail of
// err, keeping its status and scimType.
func opError(i int, op Operation, err error) error {
	se := scimerr.As(err)
	if se == nil {
		se = scimerr.InvalidValue("%v", err)
	}
	where := strings.TrimSpace(op.Op)
	if op.Path != "" {
		where += " " + quote(op.Path)
	}
	return scimerr.New(se.Status, se.ScimType, "Operations[%d] (%s): %s", i, where, se.Detail)
}

// quote returns s quoted, for error details that show paths.
func quote(s string) string { return strconv.Quote(s) }

func containsFold(list []string, s string) bool {
	for _, e := range list {
		if strings.EqualFold(strings.TrimSpace(e), s) {
			return true
		}
	}
	return false
}
