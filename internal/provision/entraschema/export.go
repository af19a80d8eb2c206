package entraschema

import (
	"fmt"
	"strings"

	"github.com/rosterhq/roster/internal/provision/expr"
	"github.com/rosterhq/roster/internal/provision/job"
	"github.com/rosterhq/roster/internal/provision/scope"
)

// Object names of the object mappings, as Entra names them for SCIM
// applications.
const (
	ObjectUser  = "User"
	ObjectGroup = "Group"
)

// Attribute flow behaviours. Roster writes an attribute when its value
// changes, which is Entra's default.
const (
	FlowWhenChanged = "FlowWhenChanged"
	FlowAlways      = "FlowAlways"
)

// Export returns the schema of a job: one rule with a User and a Group
// object mapping holding the job's effective mappings (the defaults of its
// source type where it has none) and scoping filters, and its create,
// update and delete switches as the object mappings' flow types. The job's
// source, target and secrets are not in it. The warnings name what the
// schema cannot carry: a mapping's flowNull, a comparison's tree, and the
// job settings Entra keeps outside the schema.
func Export(j job.Job) (Schema, []string) {
	var warns []string
	ms := j.EffectiveMappings()
	flows := flowTypes(j.Actions)
	users, w := objectMapping("users", ObjectUser, ms.Users, j.ScopingFilters.Users, flows)
	warns = append(warns, w...)
	groups, w := objectMapping("groups", ObjectGroup, ms.Groups, j.ScopingFilters.Groups, flows)
	warns = append(warns, w...)
	if left := notExported(j); len(left) > 0 {
		warns = append(warns, "not in Entra's schema, so not exported (Entra keeps some in the job's settings and secrets): "+strings.Join(left, ", "))
	}
	return Schema{SynchronizationRules: []Rule{{
		Name:                j.Name,
		SourceDirectoryName: j.Source.Type,
		TargetDirectoryName: "scim",
		ObjectMappings:      []ObjectMapping{users, groups},
	}}}, warns
}

// notExported names the job's settings that are set and that the schema
// does not carry.
func notExported(j job.Job) []string {
	var out []string
	if j.Scope != "" {
		out = append(out, "scope ("+j.Scope+")")
	}
	if len(j.Assignments) > 0 {
		out = append(out, fmt.Sprintf("assignments (%d)", len(j.Assignments)))
	}
	if j.Actions.Deprovision != "" {
		out = append(out, "actions.deprovision ("+j.Actions.Deprovision+")")
	}
	if j.Actions.AdoptOn409 {
		out = append(out, "actions.adoptOn409")
	}
	if j.DeletionThreshold.Count > 0 || j.DeletionThreshold.Percent > 0 {
		out = append(out, "deletionThreshold")
	}
	if j.Schedule.Interval > 0 {
		out = append(out, "schedule")
	}
	return out
}

// flowTypes writes a job's actions as an object mapping's flowTypes.
func flowTypes(a job.Actions) string {
	var fs []string
	if a.Create {
		fs = append(fs, "Add")
	}
	if a.Update {
		fs = append(fs, "Update")
	}
	if a.Delete {
		fs = append(fs, "Delete")
	}
	return strings.Join(fs, ", ")
}

func objectMapping(path, object string, ms []job.Mapping, fs []job.ScopingFilter, flows string) (ObjectMapping, []string) {
	enabled := true
	om := ObjectMapping{
		Name:              "Provision " + path,
		Enabled:           &enabled,
		FlowTypes:         flows,
		SourceObjectName:  object,
		TargetObjectName:  object,
		AttributeMappings: make([]AttributeMapping, 0, len(ms)),
	}
	var warns []string
	for i, m := range ms {
		am, w := attributeMapping(m)
		for _, s := range w {
			warns = append(warns, fmt.Sprintf("mappings.%s[%d] (target %q): %s", path, i, m.Target, s))
		}
		om.AttributeMappings = append(om.AttributeMappings, am)
	}
	if len(fs) > 0 {
		om.Scope = &Filter{Groups: make([]FilterGroup, 0, len(fs))}
		for _, f := range fs {
			g := FilterGroup{Clauses: make([]FilterClause, 0, len(f.Clauses))}
			for _, c := range f.Clauses {
				g.Clauses = append(g.Clauses, filterClause(c))
			}
			om.Scope.Groups = append(om.Scope.Groups, g)
		}
	}
	return om, warns
}

func attributeMapping(m job.Mapping) (AttributeMapping, []string) {
	am := AttributeMapping{
		TargetAttributeName: m.Target,
		FlowBehavior:        FlowWhenChanged,
		FlowType:            m.Flow,
	}
	if am.FlowType == "" {
		am.FlowType = job.FlowAlways
	}
	if m.Matching {
		am.MatchingPriority = max(m.Precedence, 1)
	}
	if m.Default != "" {
		d := m.Default
		am.DefaultValue = &d
	}
	var warns []string
	switch m.Kind {
	case job.KindConstant:
		am.Source = &Source{Type: TypeConstant, Name: m.Value, Expression: (&expr.Str{Value: m.Value}).String(), Parameters: []Parameter{}}
	case job.KindExpression:
		n, err := expr.Parse(m.Expression)
		if err != nil {
			// A stored job is validated; this is a job that was not.
			warns = append(warns, fmt.Sprintf("expression does not parse (%v); exported as its text only", err))
			am.Source = &Source{Type: TypeFunction, Expression: m.Expression, Parameters: []Parameter{}}
			break
		}
		var w []string
		am.Source, w = Tree(n)
		warns = append(warns, w...)
	default:
		am.Source = &Source{Type: TypeAttribute, Name: m.Source, Expression: "[" + m.Source + "]", Parameters: []Parameter{}}
	}
	if m.FlowNull {
		warns = append(warns, "flowNull is not part of Entra's attribute mapping (Entra sets \"flow null values\" on the target attribute's definition); not exported")
	}
	return am, warns
}

// filterClause writes a Roster clause with the operator as Graph's
// identifiers spell it: the portal's name with "_" for spaces (NOT_EQUALS,
// IS_TRUE, REGEX_MATCH, Greater_Than).
func filterClause(c scope.Clause) FilterClause {
	values := c.Values
	if len(values) == 0 && c.Value != "" {
		values = []string{c.Value}
	}
	if values == nil {
		values = []string{}
	}
	return FilterClause{
		OperatorName:      strings.ReplaceAll(canonicalOperator(c.Operator), " ", "_"),
		SourceOperandName: c.Attribute,
		TargetOperand:     &FilterOperand{Values: values},
	}
}

// canonicalOperator returns the portal's spelling of an operator name, or
// the name as given if it is not one of scope.Operators.
func canonicalOperator(name string) string {
	want := normalOperator(name)
	for _, o := range scope.Operators() {
		if normalOperator(o) == want {
			return o
		}
	}
	return name
}

// normalOperator compares operator names as package scope does: without
// regard to case, "_" as a space, single spaces.
func normalOperator(s string) string {
	return strings.Join(strings.Fields(strings.ToUpper(strings.ReplaceAll(s, "_", " "))), " ")
}
