// Package scimsource reads users and groups from a SCIM 2.0 server — another
// Roster tenant or any application with a SCIM API — as a provisioning
// source. It is configured with the server's Tenant URL and a bearer token,
// sends its requests through internal/scimclient (paging, retries,
// dialects), and implements source.Source, source.FullLister,
// source.DeltaLister and source.GroupExpander.
//
// # Listing
//
// List pages through /Users or /Groups by startIndex and count
// (Options.PageSize). Groups are listed with excludedAttributes=members and
// each group's members are then read with GET /Groups/{id}?attributes=members,
// one group at a time: a listing page of groups that each held a million
// members would not fit in memory, and many servers cap or time out such
// pages. The price is one request per group. SCIM cannot page a group's
// members, so the largest group's member list is the one thing read whole
// (bounded by scimclient's MaxResponseBytes). Members carries the same read
// for the engine's GroupExpander use.
//
// Every top-level attribute of the resource except id, schemas, meta and
// members becomes an Object attribute under its name as the server wrote
// it: complex values stay map[string]any, numbers stay json.Number, an
// extension schema is one attribute named by its URN. JSON null and [] are
// both null (RFC 7643 §2.5 calls both unassigned); an attribute the server
// left out is absent.
//
// # Delta rule
//
// Changes sends filter=meta.lastModified ge "<T − overlap>", where T is the
// latest meta.lastModified the previous delta saw and the overlap
// (Options.Overlap, default 2s) is read again on purpose:
//
//   - ge, not gt, because servers write lastModified to the millisecond (or
//     the second) while they may store it finer: with gt an object modified
//     later in the same millisecond as T would be missed for good.
//   - The overlap window, because a server stamps lastModified when a write
//     starts and the write becomes visible when it commits; two writes
//     committing out of time order, or several nodes with skewed clocks,
//     would otherwise slip under T.
//   - Re-reading costs duplicates, which the watermark removes: it remembers
//     the (id, meta.version, meta.lastModified) of every object reported
//     within the window, and an object read again with all three equal is
//     not reported again. The watermark is therefore a small JSON document,
//     not a bare time; past Options.MaxSeen entries the oldest are
//     forgotten, which can only report an object again, never miss one.
//
// The empty watermark reads everything and returns the first watermark.
// Whether the server filters is read once from /ServiceProviderConfig; only
// an explicit filter.supported false disables the filter, and a filter the
// server refuses anyway (400, 403, 501) is not tried again by this Source.
// Without the filter a delta reads every object and applies the same rule
// on the client: objects last modified before the window are dropped, so
// only changes are reported, at the cost of a full read.
//
// # Limits
//
//   - Deletes are invisible to a SCIM delta: a deleted resource is not
//     returned by any query, and SCIM has no tombstones. The engine must run
//     a periodic full listing and source.Missing against the anchors it
//     knows to find them (as Okta does for its imports).
//   - Paging is by startIndex, which is not a snapshot: a resource whose
//     position in the server's order moves while a listing or delta pages
//     can make another one be skipped. The overlap window does not cover
//     this; the periodic full listing does.
//   - A server whose lastModified does not change when a group's members
//     change will not report membership changes in deltas (Roster's does).
//   - A server without meta.lastModified gets every object reported on every
//     delta.
//
// # Test connection
//
// Test sends GET /Users?filter=userName eq "<random>"&count=1, as Entra's
// "Test Connection" does, once and without retries, and expects 200 with
// an empty ListResponse. Failures are a *source.TestError naming the cause:
// a 401 or 403 the token, a 404 the Tenant URL's path, a TLS failure the
// certificate or scheme, a timeout or refused connection the network, an
// answer that is not a SCIM list the URL (a web page) or the server (a
// non-empty list means it ignored the filter).
package scimsource
