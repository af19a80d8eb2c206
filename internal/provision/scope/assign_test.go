package scope

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rosterhq/roster/internal/provision/source"
)

// group is a source group with users as members.
func group(anchor string, attrs map[string]source.Values, members ...string) source.Object {
	g := source.Object{Anchor: anchor, Kind: source.Group, Attributes: attrs}
	for _, m := range members {
		g.Members = append(g.Members, source.Member{Anchor: m, Kind: source.User})
	}
	return g
}

func TestAssignmentsUsers(t *testing.T) {
	sales := group("g-sales", map[string]source.Values{"displayName": {"Sales"}}, "ann", "bob")
	eng := group("g-eng", map[string]source.Values{"displayName": {"Engineering"}}, "bob", "cat")
	for _, tc := range []struct {
		name        string
		assignments []Assignment
		user        string
		state       State
		roles       []string
		reason      string
	}{
		{"assigned with the default role", []Assignment{{Group: "Sales"}}, "ann",
			Assigned, []string{"User"}, `assigned with role "User"`},
		{"not a member", []Assignment{{Group: "Sales"}}, "cat",
			NotAssigned, nil, "not assigned to the job"},
		{"only Default Access: skipped", []Assignment{{Group: "Sales", Role: DefaultAccess}}, "ann",
			DefaultAccessOnly, []string{DefaultAccess}, "assigned only with Default Access: not effectively entitled"},
		{"Default Access any case", []Assignment{{Group: "Sales", Role: "default access"}}, "ann",
			DefaultAccessOnly, []string{"default access"}, "not effectively entitled"},
		{"Default Access and another role on one group", []Assignment{{Group: "Sales", Role: DefaultAccess}, {Group: "sales", Role: "Admin"}}, "ann",
			Assigned, []string{DefaultAccess, "Admin"}, `assigned with roles "Default Access", "Admin"`},
		{"Default Access through one group, a role through another", []Assignment{{Group: "Sales", Role: DefaultAccess}, {Group: "Engineering", Role: "Dev"}}, "bob",
			Assigned, []string{DefaultAccess, "Dev"}, "assigned with roles"},
		{"Default Access through both groups", []Assignment{{Group: "Sales", Role: DefaultAccess}, {Group: "Engineering", Role: DefaultAccess}}, "bob",
			DefaultAccessOnly, []string{DefaultAccess}, "not effectively entitled"},
		{"roles from two groups", []Assignment{{Group: "Engineering", Role: "Dev"}, {Group: "Sales", Role: "Seller"}}, "bob",
			Assigned, []string{"Dev", "Seller"}, `assigned with roles "Dev", "Seller"`},
		{"same role twice", []Assignment{{Group: "Sales", Role: "Admin"}, {Group: "Engineering", Role: "admin"}}, "bob",
			Assigned, []string{"Admin"}, `assigned with role "Admin"`},
		{"no assignments", nil, "ann", NotAssigned, nil, "not assigned to the job"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := NewAssignments(tc.assignments)
			a.ObserveGroup(sales)
			a.ObserveGroup(eng)
			d := a.User(tc.user)
			require.Equal(t, tc.state, d.State, d.Reason)
			require.Equal(t, tc.roles, d.Roles)
			require.Contains(t, d.Reason, tc.reason)
		})
	}
}

func TestObserveGroupMatching(t *testing.T) {
	g := group("3f1c-anchor", map[string]source.Values{
		"dn":          {"cn=Sales,ou=Groups,dc=example,dc=com"},
		"cn":          {"Sales"},
		"displayName": {"Sales Team"},
	}, "ann")
	for _, tc := range []struct {
		name, assigned string
		want           bool
	}{
		{"anchor", "3f1c-anchor", true},
		{"anchor any case", "3F1C-ANCHOR", true},
		{"dn", "cn=Sales,ou=Groups,dc=example,dc=com", true},
		{"dn any case", "CN=Sales,OU=Groups,DC=example,DC=com", true},
		{"cn", "sales", true},
		{"displayName", "Sales Team", true},
		{"surrounding spaces", "  Sales  ", true},
		{"other name", "Marketing", false},
		{"part of a name", "Sale", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := NewAssignments([]Assignment{{Group: tc.assigned, Role: "User"}})
			require.Equal(t, tc.want, a.ObserveGroup(g))
			if tc.want {
				require.Equal(t, Assigned, a.User("ann").State)
				require.Equal(t, Assigned, a.Group("3f1c-anchor").State)
				require.Empty(t, a.Unresolved())
			} else {
				require.Equal(t, NotAssigned, a.User("ann").State)
				require.Equal(t, NotAssigned, a.Group("3f1c-anchor").State)
				require.Equal(t, []Assignment{{Group: tc.assigned, Role: "User"}}, a.Unresolved())
			}
		})
	}
}

func TestAssignmentsGroupsAndNesting(t *testing.T) {
	parent := group("g-parent", map[string]source.Values{"cn": {"All Staff"}}, "ann")
	parent.Members = append(parent.Members,
		source.Member{Anchor: "g-child", Kind: source.Group},
		source.Member{Anchor: "dan"}) // kind unknown: taken as a user
	child := group("g-child", map[string]source.Values{"cn": {"Contractors"}}, "eve")
	guests := group("g-guests", map[string]source.Values{"cn": {"Guests"}}, "fay")

	a := NewAssignments([]Assignment{{Group: "All Staff", Role: "User"}, {Group: "Guests", Role: DefaultAccess}, {Group: "Nobody"}, {Group: "Old", Role: "Admin"}})
	require.True(t, a.ObserveGroup(parent))
	require.False(t, a.ObserveGroup(child))
	require.True(t, a.ObserveGroup(guests))

	require.Equal(t, Assigned, a.Group("g-parent").State)
	require.Equal(t, NotAssigned, a.Group("g-child").State, "a nested group is not assigned")
	require.Equal(t, NotAssigned, a.User("eve").State, "members of a nested group are not assigned")
	require.Equal(t, Assigned, a.User("dan").State)
	d := a.Group("g-guests")
	require.Equal(t, DefaultAccessOnly, d.State, "a group assigned only with Default Access is not entitled")
	require.Equal(t, DefaultAccessOnly, a.User("fay").State)
	require.Equal(t, []Assignment{{Group: "Nobody"}, {Group: "Old", Role: "Admin"}}, a.Unresolved())
	require.Equal(t, 3, a.Len())

	var none *Assignments
	require.Equal(t, NotAssigned, none.User("ann").State)
	require.Equal(t, NotAssigned, none.Group("g").State)
	require.False(t, none.ObserveGroup(parent))
	require.Nil(t, none.Unresolved())
}

func TestDecide(t *testing.T) {
	sales := group("g-sales", map[string]source.Values{"cn": {"Sales"}}, "ann", "bob", "cat")
	guests := group("g-guests", map[string]source.Values{"cn": {"Guests"}}, "cat", "dan")
	a := NewAssignments([]Assignment{{Group: "Sales", Role: "Seller"}, {Group: "Guests", Role: DefaultAccess}})
	a.ObserveGroup(sales)
	a.ObserveGroup(guests)
	f, err := Compile([]Filter{{Clauses: []Clause{{Attribute: "department", Operator: "EQUALS", Value: "Sales"}}}})
	require.NoError(t, err)
	u := func(anchor, dept string) source.Object {
		return source.Object{Anchor: anchor, Kind: source.User, Attributes: map[string]source.Values{"department": {dept}}}
	}
	for _, tc := range []struct {
		name   string
		mode   string
		f      *Filters
		obj    source.Object
		in     bool
		reason string
	}{
		{"assigned and matching", ModeAssigned, f, u("ann", "Sales"), true,
			`assigned with role "Seller"; scoping filter 1 matched: department EQUALS "Sales"`},
		{"assigned, no filters", ModeAssigned, nil, u("bob", "Engineering"), true,
			`assigned with role "Seller"; no scoping filters`},
		{"assigned, out of scope", ModeAssigned, f, u("bob", "Engineering"), false,
			`out of scope: department EQUALS "Sales": value is "Engineering"`},
		{"Default Access and a role", ModeAssigned, f, u("cat", "Sales"), true,
			`assigned with roles "Seller", "Default Access"; scoping filter 1 matched`},
		{"Default Access only", ModeAssigned, f, u("dan", "Sales"), false,
			"assigned only with Default Access: not effectively entitled"},
		{"not assigned", ModeAssigned, f, u("eve", "Sales"), false, "not assigned to the job"},
		{"group assigned", ModeAssigned, nil, source.Object{Anchor: "g-sales", Kind: source.Group}, true,
			`assigned with role "Seller"; no scoping filters`},
		{"group Default Access only", ModeAssigned, nil, source.Object{Anchor: "g-guests", Kind: source.Group}, false,
			"not effectively entitled"},
		{"all: unassigned matching", ModeAll, f, u("eve", "Sales"), true, `scoping filter 1 matched: department EQUALS "Sales"`},
		{"all: Default Access only is not looked at", ModeAll, nil, u("dan", "Sales"), true, "no scoping filters"},
		{"all: out of scope", ModeAll, f, u("eve", "HR"), false, `out of scope: department EQUALS "Sales": value is "HR"`},
		{"unknown mode", "some", f, u("ann", "Sales"), false, `unknown scope mode "some"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Decide(tc.mode, a, tc.f, tc.obj)
			require.Equal(t, tc.in, r.In, r.Reason)
			require.Contains(t, r.Reason, tc.reason)
		})
	}
}

// TestAssignmentsMemory checks that 100,000 assigned users cost little
// each: a map entry and a copy of the anchor.
func TestAssignmentsMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates 100,000 users")
	}
	const users = 100_000
	groups := make([]source.Object, 10)
	for i := range groups {
		groups[i] = source.Object{Anchor: fmt.Sprintf("group-%d", i), Kind: source.Group,
			Attributes: map[string]source.Values{"cn": {fmt.Sprintf("g%d", i)}}}
	}
	for u := range users {
		anchor := fmt.Sprintf("%08x-0000-4000-8000-%012x", u, u) // a UUID's length
		groups[u%10].Members = append(groups[u%10].Members, source.Member{Anchor: anchor, Kind: source.User})
		if u%4 == 0 { // a quarter of the users in two groups
			groups[(u+1)%10].Members = append(groups[(u+1)%10].Members, source.Member{Anchor: anchor, Kind: source.User})
		}
	}
	var as []Assignment
	for i := range groups {
		as = append(as, Assignment{Group: fmt.Sprintf("g%d", i), Role: fmt.Sprintf("role-%d", i%3)})
	}

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	a := NewAssignments(as)
	for _, g := range groups {
		a.ObserveGroup(g)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perUser := float64(after.HeapAlloc-before.HeapAlloc) / users
	t.Logf("%d users: %.0f bytes per user retained (anchor copy of 36 bytes included)", users, perUser)
	require.Equal(t, users, a.Len())
	require.Equal(t, Assigned, a.User(fmt.Sprintf("%08x-0000-4000-8000-%012x", 4, 4)).State)
	require.Less(t, perUser, 200.0, "per-user state should stay a map entry and the anchor")
	runtime.KeepAlive(groups)
	runtime.KeepAlive(a)
}

func BenchmarkObserveGroup(b *testing.B) {
	g := source.Object{Anchor: "g", Kind: source.Group, Attributes: map[string]source.Values{"cn": {"All"}}}
	for u := range 100_000 {
		g.Members = append(g.Members, source.Member{Anchor: fmt.Sprintf("%08x-0000-4000-8000-%012x", u, u), Kind: source.User})
	}
	b.ReportAllocs()
	for b.Loop() {
		a := NewAssignments([]Assignment{{Group: "All", Role: "User"}})
		a.ObserveGroup(g)
	}
	b.ReportMetric(float64(testing.AllocsPerRun(1, func() {
		a := NewAssignments([]Assignment{{Group: "All", Role: "User"}})
		a.ObserveGroup(g)
	}))/100_000, "allocs/user")
}
