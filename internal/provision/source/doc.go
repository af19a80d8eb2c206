// Package source is the provisioning engine's view of where identities come
// from: the object model every source produces, the one interface every
// source implements, and the optional capabilities the engine discovers by
// type assertion, in the manner of dex's connector package. A source is a
// reader only; it never writes.
//
// # Objects
//
// An Object is one user or group as the source holds it: a stable Anchor
// (the source's own immutable id, never a name that can be renamed), its
// Kind, its attributes as name → values, for a group its members, a Deleted
// flag for deltas, and the source's change marker (Version) when the source
// has one. In Attributes an absent name means the source did not say
// anything about the attribute, and a name present with a nil Values means
// the source holds it as null (unassigned); the engine's null-flow policy
// needs the two apart. Multi-valued attributes keep every value, in the
// source's order.
//
// # Source
//
// Every source implements Source: Kind names the connector ("scim",
// "ldap"), Describe says in one line which server it reads, and Test is the
// admin's "Test Connection". Test returns nil or a *TestError whose Cause
// tells the UI what to fix (the credentials, the address, TLS, …) and whose
// message says it in words.
//
// # FullLister
//
// List calls fn once for every object of the kind that exists when the
// listing runs, streaming: the source holds at most a page (and, for a
// group, one group's members) in memory, never the whole directory. There
// is no ordering. Objects changed while the listing runs may be seen in
// their old or new state, and a source that pages by offset may show an
// object twice; the engine therefore treats a listing as at-least-once for
// what existed throughout and matches by Anchor. An error from fn stops the
// listing and is returned as is. A full listing is the only way to learn of
// deletes on a source whose deltas cannot report them: Missing diffs one
// against the anchors the engine knows.
//
// # DeltaLister
//
// Changes calls fn for every object of the kind changed since watermark and
// returns the watermark for the next call. The contract:
//
//   - A watermark is opaque to the engine: it stores the string returned by
//     the last successful Changes (or by a full read, see below) and passes
//     it back unchanged, per kind. It is not a time the engine may compare.
//   - The empty watermark means "from the beginning": Changes then reports
//     every object, like List, and returns the first real watermark. The
//     engine's initial cycle can use this instead of List plus a separate
//     read of the watermark.
//   - Delivery is at-least-once: every change committed before Changes
//     starts is reported by this call or by a later one, never lost, but
//     an object may be reported again (a source re-reads an overlap window
//     around the watermark to catch changes committed out of order, and
//     removes the duplicates it can tell). The engine must make applying an
//     object idempotent, which diffing against the target does.
//   - An object is reported in its current state, not as a list of
//     changes: several changes to it since the watermark arrive as one.
//   - No ordering among objects: a group may arrive before the members it
//     names, which the engine resolves by Anchor after the delta.
//   - Deletes are reported as objects with Deleted set and only the Anchor
//     (and Kind) filled, where the source can tell deletes at all; a
//     source that cannot says so in its package documentation, and the
//     engine runs a periodic List and Missing to find them.
//   - When Changes returns an error, the returned watermark must be
//     ignored and the previous one kept: the next call re-reads from it, and
//     objects fn already saw are reported again (at-least-once).
//   - A source that cannot read deltas from this server (it lacks the
//     filter, the cookie expired, the server was restored from backup) may
//     report everything, as with the empty watermark; this is still within
//     the contract, only slower.
//
// # GroupExpander
//
// Members calls fn for each member of one group, streaming, so that a group
// of a million members never sits in memory as one Object; a source whose
// List or Changes leaves Object.Members empty for large groups says so and
// the engine expands them with Members. Members of a group that no longer
// exists is an error for which errors.Is(err, ErrNotFound) holds. Member
// order is the source's; a member may be reported twice when the group
// changes while it is read.
package source
