package entraschema

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rosterhq/roster/internal/provision/expr"
	"github.com/rosterhq/roster/internal/provision/job"
	"github.com/rosterhq/roster/internal/provision/scope"
)

// Imported is what a schema sets in a job. A nil list means the schema has
// no object mapping for that type, and the job's own is kept.
type Imported struct {
	Users, Groups             []job.Mapping
	UserFilters, GroupFilters []job.ScopingFilter
	HasUsers, HasGroups       bool
	// Actions are the object mappings' flow types, when the schema gives
	// them.
	Actions *job.Actions
}

// Import converts a schema to Roster mappings and scoping filters. It
// reads the object mappings from User and Group (of every rule) and
// refuses, naming the object and attribute mapping, what Roster does not
// model: other object types, a disabled object mapping, flow types other
// than Always and ObjectAddOnly, flowBehavior FlowAlways, the experimental
// filter sets, and an expression whose tree and text disagree.
func Import(s Schema) (Imported, error) {
	var im Imported
	var flows []string
	for ri, r := range s.SynchronizationRules {
		for oi, om := range r.ObjectMappings {
			where := fmt.Sprintf("synchronizationRules[%d].objectMappings[%d] (%s)", ri, oi, om.SourceObjectName)
			bad := func(format string, args ...any) error {
				return fmt.Errorf("%w: %s: "+format, append([]any{ErrInvalid, where}, args...)...)
			}
			var users bool
			switch {
			case strings.EqualFold(om.SourceObjectName, ObjectUser):
				users = true
			case strings.EqualFold(om.SourceObjectName, ObjectGroup):
			default:
				return Imported{}, bad("source object %q: Roster provisions %s and %s objects only", om.SourceObjectName, ObjectUser, ObjectGroup)
			}
			if om.TargetObjectName != "" && !strings.EqualFold(om.TargetObjectName, om.SourceObjectName) {
				return Imported{}, bad("target object %q: Roster provisions a %s to a %s", om.TargetObjectName, om.SourceObjectName, om.SourceObjectName)
			}
			if (users && im.HasUsers) || (!users && im.HasGroups) {
				return Imported{}, bad("a second %s object mapping; Roster has one per object type", om.SourceObjectName)
			}
			if om.Enabled != nil && !*om.Enabled {
				return Imported{}, bad("the object mapping is disabled; Roster cannot turn off one object type's provisioning, remove its mappings in Entra or enable it")
			}
			ms, err := importMappings(om.AttributeMappings)
			if err != nil {
				return Imported{}, fmt.Errorf("%w: %s.%v", ErrInvalid, where, err)
			}
			fs, err := importScope(om.Scope)
			if err != nil {
				return Imported{}, fmt.Errorf("%w: %s.scope%v", ErrInvalid, where, err)
			}
			if users {
				im.Users, im.UserFilters, im.HasUsers = ms, fs, true
			} else {
				im.Groups, im.GroupFilters, im.HasGroups = ms, fs, true
			}
			if om.FlowTypes != "" {
				f, err := normalFlows(om.FlowTypes)
				if err != nil {
					return Imported{}, bad("%v", err)
				}
				flows = append(flows, f)
			}
		}
	}
	if !im.HasUsers && !im.HasGroups {
		return Imported{}, fmt.Errorf("%w: no %s or %s object mapping", ErrInvalid, ObjectUser, ObjectGroup)
	}
	if len(flows) > 0 {
		if len(slices.Compact(slices.Sorted(slices.Values(flows)))) > 1 {
			return Imported{}, fmt.Errorf("%w: the object mappings' flowTypes differ (%s); Roster's create, update and delete switches are the job's", ErrInvalid, strings.Join(flows, " / "))
		}
		a := job.Actions{}
		for _, f := range strings.Split(flows[0], ",") {
			switch f {
			case "add":
				a.Create = true
			case "update":
				a.Update = true
			case "delete":
				a.Delete = true
			}
		}
		im.Actions = &a
	}
	return im, nil
}

// normalFlows checks a flowTypes value ("Add, Update, Delete") and returns
// it lower case, sorted, comma-separated.
func normalFlows(s string) (string, error) {
	var fs []string
	for _, f := range strings.Split(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		switch f {
		case "add", "update", "delete":
			fs = append(fs, f)
		case "none", "":
		default:
			return "", fmt.Errorf("flowTypes %q: use Add, Update and Delete", s)
		}
	}
	slices.Sort(fs)
	return strings.Join(slices.Compact(fs), ","), nil
}

func importMappings(ams []AttributeMapping) ([]job.Mapping, error) {
	out := make([]job.Mapping, 0, len(ams))
	for i, am := range ams {
		m, err := importMapping(am)
		if err != nil {
			return nil, fmt.Errorf("attributeMappings[%d] (target %q): %v", i, am.TargetAttributeName, err)
		}
		out = append(out, m)
	}
	return out, nil
}

func importMapping(am AttributeMapping) (job.Mapping, error) {
	m := job.Mapping{Target: strings.TrimSpace(am.TargetAttributeName)}
	if m.Target == "" {
		return job.Mapping{}, fmt.Errorf("targetAttributeName is required")
	}
	switch {
	case am.FlowType == "" || strings.EqualFold(am.FlowType, job.FlowAlways):
		m.Flow = job.FlowAlways
	case strings.EqualFold(am.FlowType, job.FlowObjectAddOnly):
		m.Flow = job.FlowObjectAddOnly
	default:
		return job.Mapping{}, fmt.Errorf("flowType %q: Roster applies a mapping %s or %s only", am.FlowType, job.FlowAlways, job.FlowObjectAddOnly)
	}
	if am.FlowBehavior != "" && !strings.EqualFold(am.FlowBehavior, FlowWhenChanged) {
		return job.Mapping{}, fmt.Errorf("flowBehavior %q: Roster writes an attribute when it changes (%s) only", am.FlowBehavior, FlowWhenChanged)
	}
	if am.ExportMissingReferences {
		return job.Mapping{}, fmt.Errorf("exportMissingReferences true: Roster has no such setting (Entra documents it for internal use only)")
	}
	switch {
	case am.MatchingPriority < 0:
		return job.Mapping{}, fmt.Errorf("matchingPriority %d: use 0 (not matching) or more", am.MatchingPriority)
	case am.MatchingPriority > 0:
		m.Matching, m.Precedence = true, am.MatchingPriority
	}
	def := ""
	if am.DefaultValue != nil {
		def = *am.DefaultValue
	}
	s := am.Source
	if s == nil {
		// Entra's "default value only" mapping: no source, the default is
		// always what flows, which is a constant.
		if def == "" {
			return job.Mapping{}, fmt.Errorf("no source and no defaultValue: nothing to map")
		}
		m.Kind, m.Value = job.KindConstant, def
		return m, nil
	}
	m.Default = def
	switch typ := s.Type; {
	case typ == "" || strings.EqualFold(typ, TypeAttribute):
		if strings.TrimSpace(s.Name) == "" {
			return job.Mapping{}, fmt.Errorf("source: an Attribute source has no name")
		}
		m.Kind, m.Source = job.KindDirect, s.Name
	case strings.EqualFold(typ, TypeConstant):
		m.Kind, m.Value = job.KindConstant, s.Name
	case strings.EqualFold(typ, TypeFunction):
		e, err := importExpression(s)
		if err != nil {
			return job.Mapping{}, fmt.Errorf("source: %v", err)
		}
		m.Kind, m.Expression = job.KindExpression, e
	default:
		return job.Mapping{}, fmt.Errorf("source type %q: use %s, %s or %s", s.Type, TypeAttribute, TypeConstant, TypeFunction)
	}
	return m, nil
}

// importExpression returns the expression text of a Function source. The
// text Entra stores beside the tree is the one taken (it keeps what the
// tree cannot: numbers, bare identifiers, omitted arguments), after
// checking that it says what the tree says; with no text, the tree is
// written out.
func importExpression(s *Source) (string, error) {
	var n expr.Node
	if s.Expression != "" {
		var err error
		if n, err = expr.Parse(s.Expression); err != nil {
			return "", fmt.Errorf("expression %q: %v", s.Expression, err)
		}
		if s.Name != "" && !sameTree(n, s) {
			t, terr := Expression(s)
			if terr != nil {
				return "", fmt.Errorf("expression %q: its tree does not convert: %v", s.Expression, terr)
			}
			return "", fmt.Errorf("expression %q and its tree (%s) disagree", s.Expression, t)
		}
	} else {
		var err error
		if n, err = Expression(s); err != nil {
			return "", err
		}
	}
	if err := expr.Check(n); err != nil {
		return "", fmt.Errorf("expression %s: %v", n, err)
	}
	return n.String(), nil
}

// importScope converts an object mapping's scope to Roster scoping
// filters, refusing the experimental filter sets and operators Roster
// does not have. Errors start with the path below "scope".
func importScope(f *Filter) ([]job.ScopingFilter, error) {
	if f == nil {
		return nil, nil
	}
	if len(f.InputFilterGroups) > 0 {
		return nil, fmt.Errorf(".inputFilterGroups: Roster has no input filters (objects dropped at read time and never deprovisioned); use groups")
	}
	if len(f.CategoryFilterGroups) > 0 {
		return nil, fmt.Errorf(".categoryFilterGroups: Roster has no category filters")
	}
	var out []job.ScopingFilter
	for gi, g := range f.Groups {
		sf := job.ScopingFilter{Clauses: make([]job.Clause, 0, len(g.Clauses))}
		for ci, c := range g.Clauses {
			op := canonicalOperator(c.OperatorName)
			if !slices.Contains(scope.Operators(), op) {
				return nil, fmt.Errorf(".groups[%d].clauses[%d]: operator %q: Roster has %s", gi, ci, c.OperatorName, strings.Join(scope.Operators(), ", "))
			}
			cl := job.Clause{Attribute: c.SourceOperandName, Operator: op}
			if c.TargetOperand != nil {
				switch vs := c.TargetOperand.Values; len(vs) {
				case 0:
				case 1:
					cl.Value = vs[0]
				default:
					cl.Values = slices.Clone(vs)
				}
			}
			sf.Clauses = append(sf.Clauses, cl)
		}
		out = append(out, sf)
	}
	if _, err := scope.Compile(out); err != nil {
		return nil, fmt.Errorf(".groups%v", err)
	}
	return out, nil
}

// Apply returns j with the imported mappings, scoping filters and actions
// in place of its own, and the changes in words. A mapping's flowNull,
// which Entra's attribute mapping does not carry, is kept from j's mapping
// of the same target.
func (im Imported) Apply(j job.Job) (job.Job, []string) {
	old := j
	eff := j.EffectiveMappings()
	var changes []string
	if im.HasUsers {
		j.Mappings.Users = keepFlowNull(im.Users, eff.Users)
		j.ScopingFilters.Users = im.UserFilters
		changes = append(changes, mappingChanges("mappings.users", eff.Users, j.Mappings.Users)...)
		changes = append(changes, filterChanges("scopingFilters.users", old.ScopingFilters.Users, im.UserFilters)...)
	}
	if im.HasGroups {
		j.Mappings.Groups = keepFlowNull(im.Groups, eff.Groups)
		j.ScopingFilters.Groups = im.GroupFilters
		changes = append(changes, mappingChanges("mappings.groups", eff.Groups, j.Mappings.Groups)...)
		changes = append(changes, filterChanges("scopingFilters.groups", old.ScopingFilters.Groups, im.GroupFilters)...)
	}
	if im.Actions != nil {
		a := j.Actions
		a.Create, a.Update, a.Delete = im.Actions.Create, im.Actions.Update, im.Actions.Delete
		if a != j.Actions {
			changes = append(changes, fmt.Sprintf("actions: create %t → %t, update %t → %t, delete %t → %t",
				j.Actions.Create, a.Create, j.Actions.Update, a.Update, j.Actions.Delete, a.Delete))
		}
		j.Actions = a
	}
	return j, changes
}

func keepFlowNull(ms, old []job.Mapping) []job.Mapping {
	out := slices.Clone(ms)
	for i := range out {
		for _, o := range old {
			if strings.EqualFold(o.Target, out[i].Target) {
				out[i].FlowNull = o.FlowNull
			}
		}
	}
	return out
}

// mappingChanges lists the targets added, removed and changed.
func mappingChanges(path string, old, cur []job.Mapping) []string {
	byTarget := func(ms []job.Mapping) map[string]job.Mapping {
		m := make(map[string]job.Mapping, len(ms))
		for _, x := range ms {
			x.Kind, x.Flow = orDefault(x.Kind, job.KindDirect), orDefault(x.Flow, job.FlowAlways)
			if x.Matching && x.Precedence == 0 {
				x.Precedence = 1
			}
			m[strings.ToLower(x.Target)] = x
		}
		return m
	}
	o, c := byTarget(old), byTarget(cur)
	var out []string
	for _, m := range cur {
		prev, ok := o[strings.ToLower(m.Target)]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s: added %s", path, m.Target))
		case prev != c[strings.ToLower(m.Target)]:
			out = append(out, fmt.Sprintf("%s: changed %s", path, m.Target))
		}
	}
	for _, m := range old {
		if _, ok := c[strings.ToLower(m.Target)]; !ok {
			out = append(out, fmt.Sprintf("%s: removed %s", path, m.Target))
		}
	}
	return out
}

func filterChanges(path string, old, cur []job.ScopingFilter) []string {
	str := func(fs []job.ScopingFilter) string {
		var b strings.Builder
		for _, f := range fs {
			b.WriteString("(")
			for _, c := range f.Clauses {
				b.WriteString(c.String() + ";")
			}
			b.WriteString(")")
		}
		return b.String()
	}
	if str(old) == str(cur) {
		return nil
	}
	return []string{fmt.Sprintf("%s: %d filter(s) → %d filter(s)", path, len(old), len(cur))}
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// Merge imports a schema into the job cur: its mappings, scoping filters
// and actions replaced by the schema's, everything else (source, target,
// secrets, schedule) kept. The result is validated as a job document; the
// changes say what the import changed.
func Merge(cur job.Job, s Schema) (job.Job, []string, error) {
	im, err := Import(s)
	if err != nil {
		return job.Job{}, nil, err
	}
	j, changes := im.Apply(cur)
	if err := j.Validate(); err != nil {
		return job.Job{}, nil, fmt.Errorf("the imported mappings do not make a valid job: %w", err)
	}
	return j, changes, nil
}
