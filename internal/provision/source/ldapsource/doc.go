// Package ldapsource reads users and groups from an LDAP directory
// (OpenLDAP, 389-ds) or Active Directory as a provisioning source, with
// github.com/go-ldap/ldap/v3. It is configured with the server's URL, a
// bind DN and password, a base DN, a filter for users and one for groups,
// the anchor attribute and the delta mechanism, and implements
// source.Source, source.FullLister, source.DeltaLister and
// source.GroupExpander.
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
// The member attribute is read whole with its group, following AD's
// ranged retrieval: a group whose members come back as
// member;range=0-1499 (more than MaxValRange, 1,500 by default) has the
// rest read by base searches for member;range=N-* until a range ends in
// *; a range that does not continue where the last ended is an error
// rather than a silently truncated list. Members, the GroupExpander,
// reads one group by anchor the same way.
//
// # Deltas
//
// Changes uses the mechanism Options.Delta names; "auto", the default,
// reads the rootDSE on every call and picks the best the server offers.
// The watermark records which mechanism wrote it (a small JSON document);
// a watermark of another mechanism, because the option or the server
// changed, is read as the empty one: every object is reported.
//
//   - usn (Active Directory; auto picks it when the rootDSE has
//     highestCommittedUSN). Following Microsoft's "Polling for Changes
//     Using uSNChanged": highestCommittedUSN is read before the search, on
//     the same connection (another could reach another DC), and the search
//     is (&(filter)(uSNChanged>=last+1)(uSNChanged<=highest)),
//     so a change committed during it is left to the next delta, never
//     skipped. USNs are local to a domain controller: the watermark keeps
//     the DC's dsServiceName and the invocationId of that NTDS Settings
//     object, and a delta that finds another DC (the URL reached a
//     different one) or a new invocationId (the DC was restored from
//     backup) reads everything, with the empty watermark's semantics.
//     Deletes: where the rootDSE advertises the Show Deleted control
//     (1.2.840.113556.1.4.417), the tombstones of the same USN range are
//     read from defaultNamingContext (where CN=Deleted Objects lives) with
//     (&(isDeleted=TRUE)(objectClass=user|group)(uSNChanged range)), since
//     a tombstone keeps objectClass but not objectCategory, and reported
//     Deleted when their lastKnownParent is within the base DN. Without the
//     control deletes are left to the engine's periodic full read.
//     Options.DSEEntry lets tests keep highestCommittedUSN, dsServiceName
//     and defaultNamingContext in an ordinary entry, as no client can
//     write a rootDSE; against a real DC it stays empty.
//   - syncrepl (only when Options.Delta says so: against slapd 2.5 an
//     incremental refresh left out one change of 1,000 in about one run of
//     three, see docs/provisioning.md; it needs the RFC 4533 sync request
//     control, 1.3.6.1.4.1.4203.1.9.1.1, and entryUUID anchors: OpenLDAP's
//     syncprov, 389-ds content sync). A refreshOnly
//     content synchronisation from the cookie in the watermark: add and
//     modify states are reported as objects read with the listing's
//     attributes and member resolution (members are resolved on a second
//     connection, as the first is busy with the sync search), delete
//     states and syncIdSets with refreshDeletes TRUE as Deleted objects
//     whose anchor is the entryUUID the control carries, and the server's
//     last cookie becomes the watermark. Deletes need syncprov's session
//     log (syncprov-sessionlog); when the server answers with the present
//     phase instead (no log, or the log no longer reaches back to the
//     cookie), the entries not named present are the deleted ones, but the
//     source keeps no set of anchors to diff against, so those deletes are
//     left to the engine's periodic full read. syncprov's log also reports
//     as deletes the entries changed since the cookie that are outside the
//     search's content: the other kind, other subtrees, entries that no
//     longer match the filter. They are deletes in the contract's sense (no
//     longer in this scope) and the engine acts only on anchors it holds a
//     link for. A cookie the server refuses (e-syncRefreshRequired) is
//     dropped and everything read again. The sync connection has no
//     request timeout: go-ldap drops an answer the consumer has not taken
//     within the timeout, and the engine may take entries slowly; the
//     context still ends it.
//   - timestampsync (auto's choice where the sync control is offered and
//     the anchor is entryUUID): changes exactly as timestamp below, and
//     deletes from a content synchronisation that asks for no attributes
//     and keeps only delete states, from the cookie in the watermark.
//   - timestamp (auto's choice otherwise). Changes searches
//     (&(filter)(modifyTimestamp>=T−overlap)), where T is the latest
//     modifyTimestamp the previous delta saw and the overlap
//     (Options.Overlap, default 1s) is read again on purpose:
//     modifyTimestamp has 1-second resolution in OpenLDAP, so several
//     changes share a second; >= rather than > reads T's second again, and
//     the overlap also catches a write that started before T but committed
//     after the previous delta read (and, on a multi-master pair, small
//     clock skew). The watermark remembers the (anchor, modifyTimestamp,
//     entryCSN) of every object reported within the window, and an object
//     read again with all three equal is not reported again; past
//     Options.MaxSeen entries the oldest are forgotten, which can only
//     report an object again, never miss one. A delta that has yet to see
//     any object with a modifyTimestamp (an empty scope) returns a
//     watermark that reads everything again, which is cheap for as long as
//     that stays true. Deletes are invisible to it: a deleted entry matches
//     no search.
//
// # Limits
//
//   - Where a delta cannot see deletes (timestamp; usn without Show
//     Deleted; syncrepl's present phase), and for entries moved out of the
//     base DN or the filter under timestamp and usn, the engine's periodic
//     full read (or List and source.Missing) finds them.
//   - A group's membership change shows in deltas because it modifies the
//     group entry; the memberof overlay's memberOf writes do not change a
//     user's entryCSN, so under syncrepl the change is the group's only. A
//     member deleted without the refint overlay stays in member as a
//     dangling DN, which listing skips.
//   - In AD, modifyTimestamp is built from whenChanged, which is not
//     replicated consistently between domain controllers, and uSNChanged
//     is per DC: bind one DC by name. DirSync is not used (it needs the
//     Replicating Directory Changes right and has no subtree scope).
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
