// Package scope decides which source users and groups a provisioning job
// provisions, as Entra's provisioning service does: by assignment ("sync
// only assigned users and groups") and by attribute scoping filters.
//
// # Modes
//
// ModeAll puts every source object through the scoping filters only.
// ModeAssigned first requires the object to be assigned (Assignments) and
// then puts it through the filters. Decide combines both and says why, in
// words for the provisioning logs.
//
// # Assignments
//
// An assignment names a source group (by anchor, DN, cn or displayName)
// and a role. The group and its direct members are assigned; nested groups
// are not followed. A user reached through several assigned groups holds
// every role. A user or group whose only role is DefaultAccess is not
// effectively entitled and is skipped, as the Entra gallery tutorials
// describe.
//
// # Scoping filters
//
// Filters are ORed and the clauses of a filter ANDed; no filters put
// everything in scope. The operators are Entra's, with Roster's exact
// semantics:
//
//   - A value that is absent, null or the empty string is null. Every
//     operator but IS NULL is false on null, the negated ones included
//     (Entra: "scoping filters return false if the value is null /
//     empty"). To keep objects without a department with `department NOT
//     EQUALS "Sales"`, add a second filter `department IS NULL`.
//   - Text comparisons are case-sensitive (EQUALS, NOT EQUALS, Includes,
//     &, ENDS_WITH, REGEX MATCH), as in Entra. A boolean value is text
//     "True" or "False" and EQUALS compares it without regard to case.
//   - Multi-valued attributes (Entra does not filter on them): a clause is
//     true when any value satisfies the operator; a negated operator (NOT
//     EQUALS, NOT REGEX MATCH, NOT Includes, !&) is true when no value
//     satisfies the operator it negates.
//   - A value the operator cannot compare (a complex value, a non-integer
//     for Greater_Than, a non-boolean for IS TRUE) does not satisfy it; a
//     clause whose values are all such is false.
//   - A dotted attribute ("name.givenName", "emails.value") not given as
//     such reads the sub-attribute of complex values.
//   - Regular expressions are Go's RE2 (no lookarounds or backreferences,
//     refused when the job is saved), unanchored and case-sensitive, as
//     .NET's Regex.IsMatch: use ^ and $ to match the whole value.
//   - Greater_Than, Greater_Than_OR_EQUALS, Less_Than and
//     Less_Than_OR_EQUALS compare 64-bit integers; the operand must be one.
//   - Includes is true when the value contains the operand (or, given
//     values, any of them). & is true when the operand contains the value
//     (Entra's "the attribute exists in the input string"), or, given
//     values, when the value equals one of them. NOT Includes and !& negate
//     them. NOT Includes, Less_Than and Less_Than_OR_EQUALS are Roster's
//     additions.
package scope

import (
	"strconv"

	"github.com/rosterhq/roster/internal/provision/source"
)

// Modes: which source objects a job provisions.
const (
	// ModeAssigned provisions only assigned users and groups that pass the
	// scoping filters (Entra's default).
	ModeAssigned = "assigned"
	// ModeAll provisions every user and group that passes the scoping
	// filters.
	ModeAll = "all"
)

// Decide reports whether obj is in scope of a job whose scope mode is mode,
// with a's assignments (for ModeAssigned) and f the scoping filters of
// obj's kind. The reason says which step decided: "not assigned to the
// job", "assigned only with Default Access: not effectively entitled",
// "out of scope: <clause>: <value>", or what put it in scope.
func Decide(mode string, a *Assignments, f *Filters, obj source.Object) Result {
	switch mode {
	case ModeAll:
		return f.Match(obj)
	case ModeAssigned:
	default:
		return Result{Reason: "unknown scope mode " + strconv.Quote(mode)}
	}
	var d Decision
	if obj.Kind == source.Group {
		d = a.Group(obj.Anchor)
	} else {
		d = a.User(obj.Anchor)
	}
	if d.State != Assigned {
		return Result{Reason: d.Reason, Roles: d.Roles}
	}
	r := f.Match(obj)
	r.Roles = d.Roles
	if r.In {
		r.Reason = d.Reason + "; " + r.Reason
	}
	return r
}
