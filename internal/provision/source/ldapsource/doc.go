// Package ldapsource reads users and groups from an LDAP directory
// (OpenLDAP, 389-ds) or Active Directory as a provisioning source, with
// github.com/go-ldap/ldap/v3. It is configured with the server's URL, a
// bind DN and password, a base DN, a filter for users and one for groups,
// and the anchor attribute, and implements source.Source,
// source.FullLister, source.DeltaLister and source.GroupExpander.
//
// # Listing
//
// List runs a subtree search under the base DN with the kind's filter and
// the simple paged results control (RFC 2696, Options.PageSize entries a
// page), and hands each page to the callback before asking for the next:
// go-ldap's SearchWithPaging would collect the whole directory first.
// Each call opens, binds and closes its own connection.
//
// An entry becomes an Object whose Anchor is its anchor attribute
// (entryUUID by default; for AD objectGUID, formatted as a GUID string from
// its little-endian bytes), whose Version is its entryCSN (else its
// modifyTimestamp), and whose attributes are every user attribute the
// server returned, as string values in the server's order, plus the
// operational modifyTimestamp and entryCSN and the entry's DN as "dn". The
// anchor itself is not repeated as an attribute.
//
// # Group members
//
// A group's member attribute (Options.MemberAttribute, default member)
// holds DNs, but the engine matches by anchor. Each member DN is resolved
// by reading that one entry (a base-scope search with the user filter,
// then the group filter), and the answers are cached for the rest of the
// listing (up to 10,000 DNs, then the cache starts over). This costs one
// small request per distinct member instead of a second full listing to
// build a DN → anchor map of the whole directory, which would hold every
// DN in memory. A member DN outside the base DN, of an entry that matches
// neither filter, or of no entry at all (a dangling reference) is skipped.
// The member attribute is read whole with its group. AD's ranged
// retrieval is not supported yet: a group whose members come back as
// member;range=0-1499 (more than MaxValRange, 1,500 by default) is an
// error rather than a silently truncated list. Members, the
// GroupExpander, reads one group by anchor the same way.
//
// # Delta rule
//
// Changes searches (&(filter)(modifyTimestamp>=T−overlap)), where T is the
// latest modifyTimestamp the previous delta saw and the overlap
// (Options.Overlap, default 1s) is read again on purpose:
//
//   - modifyTimestamp has 1-second resolution in OpenLDAP, so several
//     changes share a second; >= rather than > reads T's second again, and
//     the overlap also catches a write that started before T but committed
//     after the previous delta read (and, on a multi-master pair, small
//     clock skew).
//   - The watermark remembers the (anchor, modifyTimestamp, entryCSN) of
//     every object reported within the window, and an object read again
//     with all three equal is not reported again. The watermark is
//     therefore a small JSON document; past Options.MaxSeen entries the
//     oldest are forgotten, which can only report an object again, never
//     miss one.
//
// The empty watermark reads everything and returns the first watermark. A
// delta that has yet to see any object with a modifyTimestamp (an empty
// scope) returns a watermark that reads everything again, which is cheap
// for as long as that stays true.
//
// # Limits
//
//   - Deletes are invisible to this delta: a deleted entry matches no
//     search. The engine must run a periodic full listing and
//     source.Missing against the anchors it knows to find them, as it does
//     for SCIM sources. An entry moved out of the base DN or out of the
//     filter looks deleted the same way.
//   - A group's membership change shows in deltas because it modifies the
//     group entry; a member deleted without the refint overlay stays in
//     member as a dangling DN, which listing skips.
//   - In AD, modifyTimestamp is built from whenChanged, which is not
//     replicated consistently between domain controllers; bind one DC.
//
// Later work: RFC 4533 syncrepl in refreshOnly mode with a cookie
// (OpenLDAP's syncprov, 389-ds content sync), which reports deletes with a
// sessionlog and needs no overlap, and AD's uSNChanged polling against
// highestCommittedUSN with the DC's invocationID (and tombstones via the
// Show Deleted control). Both would replace the modifyTimestamp rule where
// the server offers them.
//
// # Test connection
//
// Test connects, binds and reads the base DN entry, within
// Options.Timeout. Failures are a *source.TestError naming the cause: the
// credentials (invalid credentials, result 49, or a refused bind), the
// address (the base DN does not exist, result 32), TLS (an untrusted
// certificate, or ldaps:// to a plain port), a timeout, an unreachable
// server (refused, unknown host), or the server (any other result code).
package ldapsource
