// Package sqlfilter translates a validated SCIM filter AST (package
// scim/filter) into a parameterised SQL WHERE fragment, and a sortBy path into
// an ORDER BY clause, for the relational layout every SQL backend of Roster
// shares. SQL differences between engines live behind the Dialect interface;
// this package ships the SQLite and PostgreSQL dialects.
//
// # Layout
//
// The fragments refer to these tables and columns, which each backend creates
// with its own migrations:
//
//	resources r        one row per resource; the outer query must alias it "r"
//	  seq                 integer key, ascending in creation order
//	  tenant              the backend's tenant key (bound as an argument)
//	  type, id            resource type name and SCIM id
//	  user_name_fold      Fold(userName) of a User, else NULL
//	  display_name_fold   Fold(displayName), else NULL
//	  external_id         externalId, else NULL
//	  display             the name a member is shown with (see Member.Display)
//	  attrs               the normalized attributes as a JSON object
//	  created, modified   timestamps in the form FormatTime writes
//	  version             the resource version
//	resource_values v  one row per element of every multi-valued complex
//	                   attribute (emails, phoneNumbers, addresses, roles, ...)
//	  resource_seq        resources.seq of the owner
//	  tenant              as above
//	  attr                AttrKey of the attribute
//	  idx                 the element's position in the array
//	  value_fold          Fold(elem.value) if it is a string, else NULL
//	  type_fold           Fold(elem.type) if it is a string, else NULL
//	  is_primary          elem.primary: NULL if absent, else the boolean
//	  present             whether the element is present in the sense of pr
//	  elem                the element as a JSON object
//	memberships m      one row per direct group membership
//	  group_seq           resources.seq of the group
//	  member_seq          resources.seq of the member
//
// # Semantics
//
// The SQL reproduces filter.Eval exactly (the conformance suite in
// store/storetest proves it by a differential test), per RFC 7644 §3.4.2.2:
// strings of attributes that are not case exact compare after filter.Fold on
// both sides; a comparison on a multi-valued attribute matches if any element
// matches; pr means present and not empty; ne is exactly "not eq", so an
// unassigned attribute is ne every value; eq null matches exactly when pr does
// not; dateTime values compare as instants, numbers numerically.
//
// To keep SQL's three-valued logic from changing results, the filter is put
// in negation normal form: "not" is pushed down to the comparisons, and a
// negated comparison that could yield NULL is wrapped in COALESCE(..., FALSE)
// before it is negated.
//
// Comparisons on multi-valued complex attributes become uncorrelated
// "r.seq IN (SELECT resource_seq FROM resource_values WHERE tenant = ? AND
// attr = ? AND ...)" subqueries, so that SQLite drives them from the
// (tenant, attr, value_fold) index instead of scanning every resource.
//
// One deviation from filter.Eval is deliberate: the "value" of a group's
// members and of a user's groups is an id, which RFC 7643 §3.1 defines as case
// exact, so it is compared exactly, letting "members.value eq" use an index.
package sqlfilter
