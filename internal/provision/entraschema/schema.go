// Package entraschema converts a provisioning job's mappings, scoping
// filters and flow settings to and from the JSON shape of Microsoft Entra's
// synchronization schema (Microsoft Graph's synchronizationSchema:
// synchronizationRules[].objectMappings[] with attributeMappings and a
// scope filter), so that an admin can paste what Entra's schema editor
// shows into Roster, and take a Roster job's mappings to Entra.
//
// The schema carries no secrets, and neither does an export: a job's
// source, target, tokens and passwords stay out of it.
//
// What Roster does not model is refused on import with an error naming the
// object and attribute mapping; what Entra's schema cannot say is reported
// as a warning on export. Nothing is dropped silently.
//
// Shapes follow Microsoft Graph v1.0's resource pages (attributeMapping,
// attributeMappingSource, objectMapping, filter, filterClause) in
// microsoftgraph/microsoft-graph-docs-contrib, api-reference/v1.0/resources.
package entraschema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// ErrInvalid wraps every reason a schema is refused on import.
var ErrInvalid = errors.New("invalid Entra schema")

// MaxSize bounds the schema text Parse reads. Entra's largest gallery
// schemas are a few hundred KiB with their directory definitions.
const MaxSize = 4 << 20

// Schema is a synchronizationSchema. Only its synchronization rules are
// read; directories and other keys are accepted and ignored, so that a
// whole GET …/jobs/{id}/schema response can be pasted.
type Schema struct {
	SynchronizationRules []Rule `json:"synchronizationRules"`
}

// Rule is a synchronizationRule: one direction from a source directory to
// a target directory.
type Rule struct {
	Name                string          `json:"name,omitempty"`
	SourceDirectoryName string          `json:"sourceDirectoryName,omitempty"`
	TargetDirectoryName string          `json:"targetDirectoryName,omitempty"`
	ObjectMappings      []ObjectMapping `json:"objectMappings"`
}

// ObjectMapping is how one object type (User, Group) flows: its attribute
// mappings and its scoping filter.
type ObjectMapping struct {
	Name    string `json:"name,omitempty"`
	Enabled *bool  `json:"enabled,omitempty"`
	// FlowTypes lists the enabled flows, "Add, Update, Delete" by default.
	FlowTypes         string             `json:"flowTypes,omitempty"`
	SourceObjectName  string             `json:"sourceObjectName"`
	TargetObjectName  string             `json:"targetObjectName"`
	AttributeMappings []AttributeMapping `json:"attributeMappings"`
	Scope             *Filter            `json:"scope"`
}

// AttributeMapping maps one target attribute.
type AttributeMapping struct {
	// DefaultValue is used when Source evaluates to null; Entra writes
	// null when there is none.
	DefaultValue            *string `json:"defaultValue"`
	ExportMissingReferences bool    `json:"exportMissingReferences"`
	// FlowBehavior is FlowWhenChanged (the default) or FlowAlways.
	FlowBehavior string `json:"flowBehavior,omitempty"`
	// FlowType is Always (the default), ObjectAddOnly, MultiValueAddOnly,
	// ValueAddOnly or AttributeAddOnly.
	FlowType string `json:"flowType,omitempty"`
	// MatchingPriority above 0 makes the attribute a matching one; the
	// lowest is tried first.
	MatchingPriority    int     `json:"matchingPriority"`
	Source              *Source `json:"source"`
	TargetAttributeName string  `json:"targetAttributeName"`
}

// Source is an attributeMappingSource: an expression as a tree, with its
// text beside it.
type Source struct {
	Expression string      `json:"expression,omitempty"`
	Name       string      `json:"name"`
	Parameters []Parameter `json:"parameters"`
	// Type is Attribute (the default), Constant or Function.
	Type string `json:"type"`
}

// Parameter is a stringKeyAttributeMappingSourceValuePair: one argument of
// a function.
type Parameter struct {
	Key   string  `json:"key"`
	Value *Source `json:"value"`
}

// Source types.
const (
	TypeAttribute = "Attribute"
	TypeConstant  = "Constant"
	TypeFunction  = "Function"
)

// Filter is an object mapping's scope. Groups are ORed; a group's clauses
// are ANDed.
type Filter struct {
	// Groups is the scoping filter proper: an object that stops matching
	// is deprovisioned.
	Groups []FilterGroup `json:"groups"`
	// InputFilterGroups and CategoryFilterGroups are Entra's experimental
	// filter sets; Roster has no equivalent and refuses them.
	InputFilterGroups    []FilterGroup `json:"inputFilterGroups,omitempty"`
	CategoryFilterGroups []FilterGroup `json:"categoryFilterGroups,omitempty"`
}

// FilterGroup is clauses ANDed.
type FilterGroup struct {
	Name    string         `json:"name,omitempty"`
	Clauses []FilterClause `json:"clauses"`
}

// FilterClause tests one source attribute.
type FilterClause struct {
	OperatorName      string         `json:"operatorName"`
	SourceOperandName string         `json:"sourceOperandName"`
	TargetOperand     *FilterOperand `json:"targetOperand"`
}

// FilterOperand holds the values a clause compares with.
type FilterOperand struct {
	Values []string `json:"values"`
}

// Parse reads a synchronizationSchema document. It accepts keys it does
// not use (directories, metadata, @odata annotations) and refuses text
// that is not one JSON object, is larger than MaxSize, or nests a mapping
// source deeper than the expression language allows.
func Parse(data []byte) (Schema, error) {
	if len(data) > MaxSize {
		return Schema{}, fmt.Errorf("%w: larger than %d bytes", ErrInvalid, MaxSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return Schema{}, fmt.Errorf("%w: not JSON: %v", ErrInvalid, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Schema{}, fmt.Errorf("%w: data after the JSON value", ErrInvalid)
	}
	if len(raw) == 0 || raw[0] != '{' {
		return Schema{}, fmt.Errorf("%w: the schema must be a JSON object", ErrInvalid)
	}
	var s Schema
	if err := json.Unmarshal(raw, &s); err != nil {
		return Schema{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if len(s.SynchronizationRules) == 0 {
		return Schema{}, fmt.Errorf("%w: no synchronizationRules (paste the whole schema: GET …/synchronization/jobs/{id}/schema)", ErrInvalid)
	}
	return s, nil
}
