// Package target is the provisioning engine's side of a SCIM app: the
// service provider a job writes users and groups to, as Entra's
// provisioning service writes to a gallery or non-gallery SCIM app.
//
// A Target wraps Roster's one outbound SCIM client (internal/scimclient)
// with what an engine needs on top of it:
//
//   - Test, Entra's "Test Connection": GET /Users?filter=<matching
//     attribute> eq "<random GUID>", expecting 200 and an empty
//     ListResponse (IDP-NOTES §1.3 request 1), with a message for the admin
//     saying what to fix when it fails (*TestError, the SCIM source's
//     causes);
//   - SchemaWarnings, a read of /Schemas and /ResourceTypes that names each
//     mapped attribute the app does not advertise;
//   - Find, Get, Create, Update (PATCH ops, or PUT of the desired resource),
//     Delete (a 404 counts as done), group membership in chunks of
//     MembersPerPatch (AWS IAM Identity Center takes at most 100 members a
//     request, ENGINE-NOTES §6), MemberIDs, and Each, which pages through a
//     whole endpoint keeping one page in memory;
//   - limits: every attempt, retries included, waits for one of
//     Concurrency slots and, when RequestsPerSecond is set, for a token of
//     a rate limiter, both giving up when the request's context ends. The
//     bound sits in the HTTP transport, so a retry's backoff holds no slot
//     and Timeout starts once a slot is had.
//
// Retries are the SCIM client's (scimclient.RetryPolicy): a 429 is retried
// for every method after its Retry-After; 5xx answers and requests without
// an answer (timeouts, refused or reset connections) are retried only for
// GET, PUT and DELETE. A POST that timed out is not sent again, as the app
// may have created the user and a second POST would meet a 409 forever; the
// engine finds out on its next cycle by matching. There is no second retry
// layer here.
package target
