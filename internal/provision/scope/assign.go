package scope

import (
	"slices"
	"strconv"
	"strings"

	"github.com/rosterhq/roster/internal/provision/source"
)

// Assignment assigns a source group, and so its direct members, to a job,
// with an optional role (Entra's app role; empty means DefaultRole).
type Assignment struct {
	Group string `json:"group"`
	Role  string `json:"role,omitempty"`
}

// DefaultAccess is the role of Entra's gallery apps that does not entitle
// its holder: a user or group assigned only with it is not provisioned.
const DefaultAccess = "Default Access"

// DefaultRole is the role of an assignment that names none.
const DefaultRole = "User"

// State is whether an object is assigned to a job.
type State int

// The states of an object's assignment.
const (
	NotAssigned State = iota
	// DefaultAccessOnly: assigned, but only with DefaultAccess, so not
	// effectively entitled and skipped.
	DefaultAccessOnly
	Assigned
)

func (s State) String() string {
	switch s {
	case NotAssigned:
		return "NotAssigned"
	case DefaultAccessOnly:
		return "DefaultAccessOnly"
	case Assigned:
		return "Assigned"
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// Decision is an object's assignment: its state, the roles it holds (in
// the order the job's assignments first name them; shared, not to be
// modified) and a reason for the provisioning logs.
type Decision struct {
	State  State
	Roles  []string
	Reason string
}

// Assignments resolves a job's assignments against the source groups the
// engine reads, and answers which users and groups are assigned.
//
// Build one per cycle: ObserveGroup every source group first (only adds
// are recorded, so a member who left a group is forgotten only by a new
// Assignments), then ask User and Group. ObserveGroup must not run
// concurrently with anything; User, Group and Unresolved may run
// concurrently once observing is done.
//
// Only direct members are assigned: a group that is a member of an
// assigned group is not assigned, nor are its members (as in Entra, which
// does not follow nested groups).
//
// Memory: per assigned user, one map entry holding a copy of its anchor
// and a 4-byte index into the distinct role sets, which are few.
type Assignments struct {
	list     []Assignment
	roleOf   []int // role index per assignment
	resolved []bool
	byName   map[string][]int // folded group name → assignment indexes

	roles  []string // distinct roles, folded for equality
	sets   []roleSet
	setIdx map[string]uint32 // roleSet key → index in sets
	unions map[[2]uint32]uint32

	groups map[string]uint32 // assigned group anchor → role set
	users  map[string]uint32 // assigned user anchor → role set
}

// roleSet is a set of roles; sets[0] is the empty set.
type roleSet struct {
	idx      []int // sorted role indexes
	names    []string
	entitled bool // holds a role other than DefaultAccess
}

// NewAssignments prepares a job's assignments.
func NewAssignments(as []Assignment) *Assignments {
	a := &Assignments{
		list:     slices.Clone(as),
		roleOf:   make([]int, len(as)),
		resolved: make([]bool, len(as)),
		byName:   map[string][]int{},
		sets:     []roleSet{{}},
		setIdx:   map[string]uint32{"": 0},
		unions:   map[[2]uint32]uint32{},
		groups:   map[string]uint32{},
		users:    map[string]uint32{},
	}
	for i, as := range as {
		role := strings.TrimSpace(as.Role)
		if role == "" {
			role = DefaultRole
		}
		r := slices.IndexFunc(a.roles, func(s string) bool { return strings.EqualFold(s, role) })
		if r < 0 {
			r = len(a.roles)
			a.roles = append(a.roles, role)
		}
		a.roleOf[i] = r
		k := fold(as.Group)
		a.byName[k] = append(a.byName[k], i)
	}
	return a
}

func fold(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// set interns a set of role indexes.
func (a *Assignments) set(idx []int) uint32 {
	slices.Sort(idx)
	idx = slices.Compact(idx)
	var b strings.Builder
	for _, i := range idx {
		b.WriteString(strconv.Itoa(i))
		b.WriteByte(',')
	}
	key := b.String()
	if n, ok := a.setIdx[key]; ok {
		return n
	}
	rs := roleSet{idx: idx, names: make([]string, len(idx))}
	for k, i := range idx {
		rs.names[k] = a.roles[i]
		rs.entitled = rs.entitled || !strings.EqualFold(a.roles[i], DefaultAccess)
	}
	n := uint32(len(a.sets))
	a.sets = append(a.sets, rs)
	a.setIdx[key] = n
	return n
}

// union returns the set of the roles in x or y.
func (a *Assignments) union(x, y uint32) uint32 {
	if x == y || y == 0 {
		return x
	}
	if x == 0 {
		return y
	}
	if x > y {
		x, y = y, x
	}
	if n, ok := a.unions[[2]uint32{x, y}]; ok {
		return n
	}
	n := a.set(append(slices.Clone(a.sets[x].idx), a.sets[y].idx...))
	a.unions[[2]uint32{x, y}] = n
	return n
}

// ObserveGroup records a source group read by the engine. It is assigned
// when its anchor, its "dn" attribute or its name (cn or displayName)
// equals an assignment's Group, without regard to case; it and its direct
// members then hold the roles of every assignment naming it. Members whose
// kind is group are not followed. ObserveGroup reports whether the group
// is assigned.
func (a *Assignments) ObserveGroup(g source.Object) bool {
	if a == nil || len(a.list) == 0 {
		return false
	}
	var hits []int
	seen := func(name string) {
		if name == "" {
			return
		}
		hits = append(hits, a.byName[fold(name)]...)
	}
	seen(g.Anchor)
	for _, attr := range [...]string{"dn", "cn", "displayName"} {
		vals, _ := g.Get(attr)
		for _, v := range vals {
			if s, ok := v.(string); ok {
				seen(s)
			}
		}
	}
	if len(hits) == 0 {
		return false
	}
	roles := make([]int, 0, len(hits))
	for _, i := range hits {
		a.resolved[i] = true
		roles = append(roles, a.roleOf[i])
	}
	set := a.set(roles)
	a.groups[g.Anchor] = a.union(a.groups[g.Anchor], set)
	for _, m := range g.Members {
		if m.Kind == source.Group || m.Anchor == "" {
			continue
		}
		if old, ok := a.users[m.Anchor]; ok {
			a.users[m.Anchor] = a.union(old, set)
		} else {
			// A copy, so the map keeps no larger buffer the anchor
			// was cut from alive.
			a.users[strings.Clone(m.Anchor)] = set
		}
	}
	return true
}

// User returns a user's assignment: Assigned when a group it is a direct
// member of is assigned with a role other than DefaultAccess,
// DefaultAccessOnly when its only role is DefaultAccess, NotAssigned
// otherwise.
func (a *Assignments) User(anchor string) Decision {
	return a.decide(a.usersMap(), anchor)
}

// Group returns a group's assignment: an assigned group is itself in
// scope (Entra provisions assigned groups), unless it is assigned only
// with DefaultAccess, which the Entra tutorials treat as no entitlement
// for groups as for users.
func (a *Assignments) Group(anchor string) Decision {
	if a == nil {
		return a.decide(nil, anchor)
	}
	return a.decide(a.groups, anchor)
}

func (a *Assignments) usersMap() map[string]uint32 {
	if a == nil {
		return nil
	}
	return a.users
}

func (a *Assignments) decide(m map[string]uint32, anchor string) Decision {
	n, ok := m[anchor]
	if !ok || n == 0 {
		return Decision{State: NotAssigned, Reason: "not assigned to the job"}
	}
	rs := a.sets[n]
	if !rs.entitled {
		return Decision{State: DefaultAccessOnly, Roles: rs.names,
			Reason: "assigned only with " + DefaultAccess + ": not effectively entitled"}
	}
	word := "role "
	if len(rs.names) > 1 {
		word = "roles "
	}
	return Decision{State: Assigned, Roles: rs.names, Reason: "assigned with " + word + quoteList(rs.names)}
}

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

// Unresolved returns the assignments whose Group named no observed group,
// in the job's order; the engine warns about them.
func (a *Assignments) Unresolved() []Assignment {
	if a == nil {
		return nil
	}
	var out []Assignment
	for i, as := range a.list {
		if !a.resolved[i] {
			out = append(out, as)
		}
	}
	return out
}

// Len returns how many users are assigned (in any state).
func (a *Assignments) Len() int {
	if a == nil {
		return 0
	}
	return len(a.users)
}
