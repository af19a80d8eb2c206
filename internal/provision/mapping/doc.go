// Package mapping applies a provisioning job's attribute mappings: it turns
// a source object into the SCIM attributes its target object should have,
// and compares those with the target object to find the changes. It is
// pure: no network, no store, no engine.
//
//	set, err := mapping.Compile("User", job.EffectiveMappings().Users)
//	vals, err := set.Evaluate(obj, expr.Env{})     // per source object
//	keys := vals.MatchKeys()                       // find the target: keys[0].Filter()
//	body, pending := vals.Resource(resolve)        // create: POST body
//	changes, pending := vals.Diff(cur, false, resolve)
//	ops := mapping.Ops(changes)                    // update: PATCH
//	doc := mapping.Apply(cur, changes)             // or PUT
//
// # Values
//
// A Direct mapping copies a source attribute, found by name without regard
// to case; for a SCIM source the name may also be a path into its complex
// values: name.givenName, emails[type eq "work"].value,
// urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department. A
// Constant writes its Value; an Expression is evaluated with package expr
// (a multi-valued source attribute is an expr.Multi, and a SCIM source's
// paths work inside brackets too). The Default is used when the value is
// null or empty. The value is then coerced to the target attribute's SCIM
// type (RFC 7643 §2.3) from Roster's schema: boolean from true/false,
// "True", "1", "0" in any case; integer from numbers and decimal text;
// string from numbers and booleans ("True"/"False", as Entra writes them).
// A single-valued target takes the first of several values; a complex
// source value (a SCIM manager) gives its value sub-attribute. A value
// that cannot be coerced is an error naming the mapping. Attributes
// Roster's schema does not know (a custom extension's) are strings.
//
// # Target paths
//
//	userName                       {"userName": v}
//	name.givenName                 {"name": {"givenName": v}}
//	emails[type eq "work"].value   {"emails": [{"type": "work", "value": v, "primary": true}]}
//	addresses[type eq "work"].streetAddress + addresses[type eq "work"].locality
//	                               {"addresses": [{"type": "work", "streetAddress": s, "locality": l}]}
//	urn:…:enterprise:2.0:User:employeeNumber
//	                               {"urn:…:enterprise:2.0:User": {"employeeNumber": v}}
//	manager (or the URN form)      {"urn:…:enterprise:2.0:User": {"manager": {"value": id}}}
//
// A value filter is sub-attribute eq value comparisons joined by and, so
// that the element it selects can be created; several mappings into the
// same filtered element fill one element. Only a created
// emails[type eq "work"] element gets primary: true, as Entra sends it.
// Enterprise attributes may be written without their URN; Paths and
// Entry.Path print them fully qualified. Read-only attributes (id, meta,
// groups) and complex attributes without a sub-attribute are refused.
//
// # Flows and nulls (ENGINE-NOTES §1.1–1.2)
//
// Resource (the create) writes every non-null value of both flows; a null
// never appears in a create. Diff (an update) skips ObjectAddOnly
// mappings unless told the object is being created, and leaves the
// target alone where a value is null, unless the mapping flows nulls
// (FlowNull) or is a reference; then a target that has a value gets a
// Remove. An expression returning IgnoreFlowIfNullOrEmpty's skip has no
// entry at all.
//
// # References
//
// The enterprise extension's manager is a reference: its source value (an
// LDAP DN, a SCIM source's manager id) names another source object, which
// a Resolver turns into that object's target id. The body carries
// {"value": id}; Diff compares the target's manager.value (or a bare id)
// with the resolved id; a manager cleared at the source is a Remove. A
// reference whose object has no target id yet is returned as pending, for
// the engine to write after the referenced object exists (Entra resolves
// references in a second pass too).
package mapping
