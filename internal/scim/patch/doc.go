// Package patch implements the SCIM PATCH operation of RFC 7644 §3.5.2 as a
// pure function over a resource in normalized form (package resource): Apply
// takes the stored attributes and the operations of a PatchOp request and
// returns the new attributes, the list of effective changes, and the
// operations on a group's members, which are never held in memory.
//
// Besides the RFC, the engine accepts the dialects that Microsoft Entra ID and
// Okta really send, because a service provider that rejects them breaks
// provisioning for every customer of that identity provider:
//
//   - op names in any case: Entra's default job sends "Add", "Replace" and
//     "Remove";
//   - booleans sent as the strings "True" and "False" (Entra's default job),
//     and the other value shapes resource.Value accepts, such as a manager
//     given as a plain id string or as a one-element array;
//   - operations without a path whose value object has paths as keys:
//     "name.givenName", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"
//     (Entra with aadOptscim062020), and keys "id", "meta" and "schemas" that
//     are ignored (Okta's group rename sends the group's id);
//   - value-filter paths such as emails[type eq "work"].value that match no
//     element: add and replace create the element from the filter's
//     equality terms, which Entra relies on where the RFC would answer
//     noTarget;
//   - member removal with path "members" and a value array (Entra's default
//     job), which removes only the listed members and never all of them;
//   - value filters on single-valued complex attributes, such as
//     manager[value eq "id"].
//
// Adding a value that is already there, replacing a value with itself and
// removing a value that is absent all succeed and change nothing, so a
// request an identity provider retries after a timeout neither fails nor
// duplicates data; the golden tests check that every replayed request is
// idempotent in this way.
//
// Group members are not applied to the document: a group may have a million
// of them, so Apply turns every operation on the Group attribute "members"
// into a MemberOp that the caller applies to its member store.
package patch
